#!/bin/sh
# Run by /bin/sh from the bundle: entry "greet" (a symlink named greet runs it too).
echo "greet: hello, ${1:-world}, from $0"
echo "greet: the bundle is $HELLO_LAUNCHER_BUNDLE_EXE, version $HELLO_LAUNCHER_BUNDLE_VERSION"
