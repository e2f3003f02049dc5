module dgmo.dev/native

go 1.27
