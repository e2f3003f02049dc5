/* The C side of the arm64 toolchain probe: libsodium and zstd, through their own headers. */
#pragma once
#include <sodium.h>
#include <zstd.h>
#include <stdio.h>  /* putchar, fflush: the probe's output */
