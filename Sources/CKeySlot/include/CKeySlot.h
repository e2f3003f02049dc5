#pragma once
#include <stdint.h>

/// Size of the key slot, marker included. See docs/format.md, "Key slot".
#define CKEYSLOT_SIZE 96

/// Returns the stub's key slot. bundle-append finds the marker in a copy of the stub
/// and patches the bytes after it; the stub reads them at run time through this pointer.
const volatile uint8_t *ckeyslot_bytes(void);
