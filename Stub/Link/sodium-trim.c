/* Linked into the musl stub only (scripts/build-stub.sh), never into the SwiftPM build.
 *
 * sodium_init() (libsodium 1.0.18, core.c) asks each primitive that has CPU-specific code to pick
 * its best implementation. Each pick references every variant of its primitive, so a static link
 * keeps all of them although the launcher calls none. build-stub.sh links sodium_init's calls of
 * four picks (`--wrap`) to the functions below, which pick nothing, so those primitives are never
 * referenced and --gc-sections leaves them out: 68,496 bytes of the x64 stub, measured one by one
 * as X25519 24 KB, Argon2 (with its AVX-512, AVX2 and SSSE3 block fillers) 24 KB, Salsa20 11 KB,
 * Poly1305 9 KB. ChaCha20 keeps its pick: randombytes.c links ChaCha20 anyway (its
 * randombytes_buf_deterministic shares a section with randombytes_buf), so skipping that pick
 * would save nothing.
 *
 * What the launcher uses keeps its pick: BLAKE2b (generichash: the layer digests, SIMD variants
 * chosen at run time) and Ed25519 verification (one portable implementation, no pick). Were one of
 * the four primitives called, it would run the implementation each one has selected before any
 * pick (libsodium's portable one, or salsa20's xmm6 assembly): the same results, perhaps slower. */
int __wrap__crypto_pwhash_argon2_pick_best_implementation(void);
int __wrap__crypto_stream_salsa20_pick_best_implementation(void);
int __wrap__crypto_onetimeauth_poly1305_pick_best_implementation(void);
int __wrap__crypto_scalarmult_curve25519_pick_best_implementation(void);

int __wrap__crypto_pwhash_argon2_pick_best_implementation(void) { return 0; }
int __wrap__crypto_stream_salsa20_pick_best_implementation(void) { return 0; }
int __wrap__crypto_onetimeauth_poly1305_pick_best_implementation(void) { return 0; }
int __wrap__crypto_scalarmult_curve25519_pick_best_implementation(void) { return 0; }
