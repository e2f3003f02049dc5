// system-info prints facts about the machine as one JSON object (the Linux build; on Windows it
// is `dgmo-native system-info`). The program is package systeminfo.
package main

import "dgmo.dev/native/internal/systeminfo"

func main() { systeminfo.Main() }
