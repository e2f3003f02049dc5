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
; features". The uninstaller removes all of that (the PATH entry only when this installer added it:
; PathAdded=1 under the uninstall key); the user's cache (%LOCALAPPDATA%\dgmo) only when asked: a
; question in interactive mode, /REMOVECACHE in silent mode (/S).
;
; A directory that is not empty is refused unless it is an earlier DGMO install (dgmo.exe and
; uninstall.exe in it): the file names are the plain ones (README.txt, LICENSE.txt, uninstall.exe),
; and the uninstaller deletes only those names, so they must be ours. Silent mode: exit code 2.
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
!define MUI_PAGE_CUSTOMFUNCTION_LEAVE DirectoryLeave
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; CheckDir: $0 = "" when $INSTDIR is absent, empty or an earlier DGMO install, else why not.
Function CheckDir
  StrCpy $0 ""
  ${If} ${FileExists} "$INSTDIR\dgmo.exe"
  ${AndIf} ${FileExists} "$INSTDIR\uninstall.exe"
    Return
  ${EndIf}
  ClearErrors
  FindFirst $1 $2 "$INSTDIR\*.*"
  ${Unless} ${Errors}
    ${Do}
      ${If} $2 != "."
      ${AndIf} $2 != ".."
      ${AndIf} $2 != ""
        StrCpy $0 "$INSTDIR is not empty and is not an earlier DGMO install (it has $2): choose an empty or new directory."
        ${Break}
      ${EndIf}
      ClearErrors
      FindNext $1 $2
    ${LoopUntil} ${Errors}
    FindClose $1
  ${EndUnless}
FunctionEnd

Function DirectoryLeave
  Call CheckDir
  ${If} $0 != ""
    MessageBox MB_OK|MB_ICONSTOP "$0"
    Abort
  ${EndIf}
FunctionEnd

Section "DGMO (required)" SecMain
  SectionIn RO
  SetRegView 64
  ; Checked again here: a silent install (/S /D=...) has no directory page.
  Call CheckDir
  ${If} $0 != ""
    DetailPrint "$0"
    ${IfNot} ${Silent}
      MessageBox MB_OK|MB_ICONSTOP "$0"
    ${EndIf}
    SetErrorLevel 2
    Abort "$0"
  ${EndIf}
  ; An earlier install elsewhere: its PathAdded was about that directory, not this one.
  ClearErrors
  ReadRegStr $1 HKLM "${UNINSTKEY}" "InstallLocation"
  ${IfNot} ${Errors}
  ${AndIf} $1 != "$INSTDIR"
    DeleteRegValue HKLM "${UNINSTKEY}" "PathAdded"
  ${EndIf}
  SetOutPath "$INSTDIR"
  ; A running dgmo.exe cannot be overwritten, but it can be renamed: the old image moves aside and
  ; goes now or at the next reboot. If File still fails (silent mode would take "Ignore"), stop.
  ${If} ${FileExists} "$INSTDIR\dgmo.exe"
    Delete "$INSTDIR\.dgmo.exe.old-setup"
    ClearErrors
    Rename "$INSTDIR\dgmo.exe" "$INSTDIR\.dgmo.exe.old-setup"
    ${IfNot} ${Errors}
      Delete /REBOOTOK "$INSTDIR\.dgmo.exe.old-setup"
    ${EndIf}
  ${EndIf}
  ClearErrors
  File "${SRCDIR}/dgmo.exe"
  ${If} ${Errors}
    DetailPrint "Could not write $INSTDIR\dgmo.exe (is DGMO running?): the installation is incomplete"
    ${IfNot} ${Silent}
      MessageBox MB_OK|MB_ICONSTOP "Could not write $INSTDIR\dgmo.exe (is DGMO running?): close it and run the installer again."
    ${EndIf}
    SetErrorLevel 2
    Abort "Could not write $INSTDIR\dgmo.exe"
  ${EndIf}
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
    DetailPrint "PATH NOT CHANGED: the machine's Path is unreadable or too long (with $INSTDIR, over ${PATH_MAX} characters) for this installer to edit safely; add $INSTDIR to it yourself"
    Goto path_done
  ${EndIf}
  ${StrStr} $2 ";$0;" ";$INSTDIR;"
  ${If} $2 == ""
    ${If} $0 == ""
      WriteRegExpandStr HKLM "${ENVKEY}" "Path" "$INSTDIR"
    ${Else}
      WriteRegExpandStr HKLM "${ENVKEY}" "Path" "$0;$INSTDIR"
    ${EndIf}
    ; The uninstaller removes the entry only when this is set: one that was there before stays.
    WriteRegDWORD HKLM "${UNINSTKEY}" "PathAdded" 1
    SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=5000
    DetailPrint "Added $INSTDIR to PATH"
  ${EndIf}
  path_done:
SectionEnd

Section "Start menu shortcut" SecShortcut
  SetShellVarContext all
  ; cmd /k keeps the console open: DGMO is a command-line program. Its working directory is the
  ; output path, $INSTDIR (not the installing administrator's profile: the shortcut is for all users).
  SetOutPath "$INSTDIR"
  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$SYSDIR\cmd.exe" '/k ""$INSTDIR\dgmo.exe" --version"' "$INSTDIR\dgmo.exe" 0
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
  ; PATH: only when the installer added the entry (PathAdded=1), the entries equal to $INSTDIR go
  ; (";$0;" must fit whole; the installer made sure it would).
  ClearErrors
  ReadRegDWORD $3 HKLM "${UNINSTKEY}" "PathAdded"
  ${If} ${Errors}
    StrCpy $3 0
  ${EndIf}
  ClearErrors
  ReadRegStr $0 HKLM "${ENVKEY}" "Path"
  StrLen $1 $0
  IntOp $1 $1 + 2
  ${If} $3 != 1
    DetailPrint "PATH not changed: this installer did not add $INSTDIR to it"
  ${ElseIf} ${Errors}
  ${OrIf} $1 > ${PATH_MAX}
    DetailPrint "PATH NOT CHANGED: the machine's Path is unreadable or too long for this uninstaller to edit safely; remove $INSTDIR from it yourself"
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
  ; What an upgrade (above) or `dgmo update --apply` leaves while an old dgmo.exe is running.
  Delete "$INSTDIR\.dgmo.exe.old-*"
  Delete "$INSTDIR\.dgmo.exe.update-*"
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
    ; Not RMDir /r: it follows junctions, and this runs elevated (a junction planted in the cache
    ; would make it delete what it points to). cmd's rd /s removes a junction, not its target.
    nsExec::ExecToLog '"$SYSDIR\cmd.exe" /c rd /s /q "$LOCALAPPDATA\dgmo"'
    Pop $R2
    ${If} ${FileExists} "$LOCALAPPDATA\dgmo\*.*"
      DetailPrint "Could not remove $LOCALAPPDATA\dgmo (rd exited $R2)"
    ${Else}
      DetailPrint "Removed $LOCALAPPDATA\dgmo"
    ${EndIf}
    keep_cache:
  ${EndIf}
SectionEnd
