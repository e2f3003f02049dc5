// process-manager runs a command, restarting it on failure, and exits with its last status (the
// Linux build; on Windows it is `dgmo-native process-manager`). The program is package
// processmanager.
package main

import "dgmo.dev/native/internal/processmanager"

func main() { processmanager.Main() }
