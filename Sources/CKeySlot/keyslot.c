#include "CKeySlot.h"

/* The slot lives in .rodata-like storage of the stub's file. `volatile` and the
 * out-of-line accessor stop the compiler from folding the unpatched contents into
 * the code, so bytes written into the file by bundle-append are what the stub sees.
 * Layout (docs/format.md): 32-byte marker, 1 state byte, 1 reserved, "Ed", 8-byte
 * key id, 32-byte public key, 20 zero bytes. */
__attribute__((used, aligned(16)))
static const volatile uint8_t bundle_key_slot[CKEYSLOT_SIZE] = {
    'D','G','M','O','-','B','U','N','D','L','E','-','K','E','Y','-',
    'S','L','O','T','-','V','1','-','7','f','3','c','9','a','e','1',
    0
};

const volatile uint8_t *ckeyslot_bytes(void) {
    return bundle_key_slot;
}
