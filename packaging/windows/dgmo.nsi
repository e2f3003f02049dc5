; The DGMO installer for Windows x64 (NSIS 3.08, Debian's makensis on Linux; scripts/windows-installer.sh
; builds it). Defines, each with -D:
;   VERSION      the release's version, e.g. 0.4.0 (VERSION4: the same as four numbers, 0.4.0.0)
;   SRCDIR       a directory with dgmo.exe, README.txt and LICENSE.txt (and dgmo.cdx.json if SBOM is defined)
;   SBOM         defined when SRCDIR has dgmo.cdx.json
;   OUTFILE      the installer to write
;   UNINST_SIGN  optional: a command that Authenticode-signs the uninstaller in place ("%1" is its path)
;
; What it does (docs/release.md, "Windows"): installs into $PROGRAMFILES64\DGMO (or /D=DIR), adds that
; directory to the machine's PATH (the "Add to PATH" component; silent installs: /PATH=1, the default,
; or /PATH=0), makes a Start-menu shortcut for all users, and registers the uninstaller in "Apps &
; features". The uninstaller removes all of that; the user's cache (%LOCALAPPDATA%\dgmo) only when
; asked: a question in interactive mode, /REMOVECACHE in silent mode (/S).
;
; Reproducible: no dates are embedded (the PE timestamp is the stub's, installed files keep the
; mtimes of SRCDIR, which the script sets to SOURCE_DATE_EPOCH).

Unicode true
Target amd64-unicode
; zlib, not LZMA: dgmo.exe is compressed already (zstd and xz layers). On the release exe LZMA saves
; 1.3 % and zlib 1.1 % (49,679,936 -> 49,032,704 / 49,131,286 bytes), while LZMA takes about 30 s of
; CPU to build and more to unpack at install time.
SetCompressor zlib
RequestExecutionLevel admin
ManifestSupportedOS all
ManifestDPIAware true

!ifndef VERSION | VERSION4 | SRCDIR | OUTFILE
  !error "define VERSION, VERSION4, SRCDIR and OUTFILE (scripts/windows-installer.sh does)"
!endif
!ifdef UNINST_SIGN
  !uninstfinalize '${UNINST_SIGN}' = 0
!endif

!define APP "DGMO"
!define PUBLISHER "The DGMO authors"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\DGMO"
!define ENVKEY "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
; The longest string NSIS holds whole (below).
!define /math PATH_MAX ${NSIS_MAX_STRLEN} - 1

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "StrFunc.nsh"
${StrStr}
${UnStrRep}

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP}"
InstallDirRegKey HKLM "${UNINSTKEY}" "InstallLocation"
BrandingText "${APP} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VERSION4}"
VIFileVersion "${VERSION4}"
VIAddVersionKey /LANG=1033 "ProductName" "${APP}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${APP} ${VERSION} setup"
VIAddVersionKey /LANG=1033 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=1033 "LegalCopyright" "${PUBLISHER}"

!define MUI_COMPONENTSPAGE_NODESC
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "DGMO (required)" SecMain
  SectionIn RO
  SetRegView 64
  SetOutPath "$INSTDIR"
  File "${SRCDIR}/dgmo.exe"
  File "${SRCDIR}/README.txt"
  File "${SRCDIR}/LICENSE.txt"
  !ifdef SBOM
    File "${SRCDIR}/dgmo.cdx.json"
  !endif
  WriteUninstaller "$INSTDIR\uninstall.exe"

  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${APP}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\dgmo.exe"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${UNINSTKEY}" "EstimatedSize" $0
SectionEnd

; The machine's Path (REG_EXPAND_SZ) gets ";$INSTDIR" unless an entry is already $INSTDIR. NSIS
; strings hold NSIS_MAX_STRLEN (1024) characters: ReadRegStr of a longer Path fails (it returns ""),
; and a longer result would be cut, so then Path is not touched and the log says so (measured under
; wine: without the check, a 1515-character Path was replaced by the install directory alone).
Section "Add to PATH" SecPath
  SetRegView 64
  ClearErrors
  ReadRegStr $0 HKLM "${ENVKEY}" "Path"
  ; What the uninstaller will need: ";" + Path + ";" + $INSTDIR + ";".
  StrLen $1 $0
  StrLen $2 "$INSTDIR"
  IntOp $1 $1 + $2
  IntOp $1 $1 + 3
  ${If} ${Errors}
  ${OrIf} $1 > ${PATH_MAX}
    DetailPrint "PATH is unreadable or too long for this installer to edit safely: add $INSTDIR to it yourself"
    Goto path_done
  ${EndIf}
  ${StrStr} $2 ";$0;" ";$INSTDIR;"
  ${If} $2 == ""
    ${If} $0 == ""
      WriteRegExpandStr HKLM "${ENVKEY}" "Path" "$INSTDIR"
    ${Else}
      WriteRegExpandStr HKLM "${ENVKEY}" "Path" "$0;$INSTDIR"
    ${EndIf}
    SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=5000
    DetailPrint "Added $INSTDIR to PATH"
  ${EndIf}
  path_done:
SectionEnd

Section "Start menu shortcut" SecShortcut
  SetShellVarContext all
  ; cmd /k keeps the console open: DGMO is a command-line program.
  SetOutPath "$PROFILE"
  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$SYSDIR\cmd.exe" '/k ""$INSTDIR\dgmo.exe" --version"' "$INSTDIR\dgmo.exe" 0
  SetOutPath "$INSTDIR"
SectionEnd

Function .onInit
  ; /PATH=0 leaves PATH alone (silent or not); /PATH=1 (the default) adds the directory.
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/PATH=" $R1
  ${IfNot} ${Errors}
  ${AndIf} $R1 == "0"
    SectionSetFlags ${SecPath} 0
  ${EndIf}
FunctionEnd

Section "Uninstall"
  SetRegView 64
  ; PATH: the entries equal to $INSTDIR go (";$0;" must fit whole; the installer made sure it would).
  ClearErrors
  ReadRegStr $0 HKLM "${ENVKEY}" "Path"
  StrLen $1 $0
  IntOp $1 $1 + 2
  ${If} ${Errors}
  ${OrIf} $1 > ${PATH_MAX}
    DetailPrint "PATH is unreadable or too long for this uninstaller to edit safely: remove $INSTDIR from it yourself"
  ${Else}
    ${UnStrRep} $2 ";$0;" ";$INSTDIR;" ";"
    ${If} $2 != ";$0;"
      ; Strip the two separators added above.
      StrCpy $2 $2 "" 1
      StrCpy $2 $2 -1
      WriteRegExpandStr HKLM "${ENVKEY}" "Path" "$2"
      SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=5000
      DetailPrint "Removed $INSTDIR from PATH"
    ${EndIf}
  ${EndIf}

  SetShellVarContext all
  Delete "$SMPROGRAMS\${APP}.lnk"

  Delete "$INSTDIR\dgmo.exe"
  Delete "$INSTDIR\README.txt"
  Delete "$INSTDIR\LICENSE.txt"
  Delete "$INSTDIR\dgmo.cdx.json"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTKEY}"

  ; The cache of the user running the uninstaller (%LOCALAPPDATA%\dgmo; DGMO_CACHE_DIR is not
  ; looked at): kept unless /REMOVECACHE is given or, interactively, the user says yes.
  SetShellVarContext current
  ${If} ${FileExists} "$LOCALAPPDATA\dgmo\*.*"
    ${un.GetParameters} $R0
    ClearErrors
    ${un.GetOptions} $R0 "/REMOVECACHE" $R1
    ${If} ${Errors}
      ${IfNot} ${Silent}
        MessageBox MB_YESNO|MB_DEFBUTTON2|MB_ICONQUESTION "Also remove DGMO's cache, $LOCALAPPDATA\dgmo?$\r$\n(DGMO recreates it on its next run.)" IDNO keep_cache
      ${Else}
        Goto keep_cache
      ${EndIf}
    ${EndIf}
    RMDir /r "$LOCALAPPDATA\dgmo"
    DetailPrint "Removed $LOCALAPPDATA\dgmo"
    keep_cache:
  ${EndIf}
SectionEnd
