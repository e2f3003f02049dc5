// file-watcher reports changes under the given paths as JSON lines (the Linux build; on Windows
// it is `dgmo-native file-watcher`). The program is package filewatcher.
package main

import "dgmo.dev/native/internal/filewatcher"

func main() { filewatcher.Main() }
