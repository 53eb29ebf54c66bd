// test_convert.c — F16/BF16 <-> F32 conversions against the compiler's own _Float16 arithmetic
// (libgcc's soft-float routines: an implementation independent of kevo's bit manipulation).
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/convert.h"
#include "test.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

KEVO_TEST(convert_f16_to_f32_all_values)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        _Float16 x;
        uint16_t h16 = (uint16_t)h;
        memcpy(&x, &h16, sizeof x);
        float want = (float)x, got = kevo_f16_to_f32(h16);
        int same = bits(got) == bits(want);
        if (!same && bad++ < 5)
            CHECK(0, "f16 0x%04x: got %a (0x%08x), want %a (0x%08x)", h, got, bits(got), want,
                  bits(want));
    }
    CHECK(bad == 0, "%d of 65536 F16 values convert wrongly", bad);
}

KEVO_TEST(convert_f32_to_f16_rounds_like_the_compiler)
{
    // Every F16 value, every midpoint between neighbours (ties), and a spread of random floats.
    int bad = 0;
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < 3000000; i++) {
        float f;
        if (i < 65536) {
            uint16_t h = (uint16_t)i;
            f = kevo_f16_to_f32(h);
        } else if (i < 131072) {
            uint16_t h = (uint16_t)(i - 65536);
            f = from_bits(bits(kevo_f16_to_f32(h)) + (1u << 12));   // halfway-ish upward
        } else {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            f = from_bits((uint32_t)state);
        }
        _Float16 x = (_Float16)f;
        uint16_t want;
        memcpy(&want, &x, sizeof want);
        uint16_t got = kevo_f32_to_f16(f);
        int same = isnan(f) ? (got & 0x7c00) == 0x7c00 && (got & 0x3ff) : got == want;
        if (!same && bad++ < 5)
            CHECK(0, "f32 %a (0x%08x): got 0x%04x, want 0x%04x", f, bits(f), got, want);
    }
    CHECK(bad == 0, "%d values round differently from the compiler", bad);
}

KEVO_TEST(convert_bf16)
{
    // Widening is a shift; narrowing rounds to nearest even, as torch's .to(bfloat16) does.
    CHECK(kevo_bf16_to_f32(0x3f80) == 1.0f, "bf16 1.0");
    CHECK(kevo_bf16_to_f32(0xc040) == -3.0f, "bf16 -3.0");
    CHECK(isinf(kevo_bf16_to_f32(0x7f80)), "bf16 inf");
    CHECK(kevo_f32_to_bf16(1.0f) == 0x3f80, "1.0");
    CHECK(kevo_f32_to_bf16(from_bits(0x3f808000)) == 0x3f80, "tie rounds to even (down)");
    CHECK(kevo_f32_to_bf16(from_bits(0x3f818000)) == 0x3f82, "tie rounds to even (up)");
    CHECK(kevo_f32_to_bf16(from_bits(0x3f808001)) == 0x3f81, "above the tie rounds up");
    CHECK(kevo_f32_to_bf16(from_bits(0x7f7fffff)) == 0x7f80, "max float rounds to inf");
    CHECK((kevo_f32_to_bf16(NAN) & 0x7fc0) == 0x7fc0, "NaN stays NaN");
    for (uint32_t h = 0; h < 65536; h++)
        if (((h >> 7) & 0xff) != 0xff)
            CHECK(kevo_f32_to_bf16(kevo_bf16_to_f32((uint16_t)h)) == h, "bf16 0x%04x roundtrip",
                  h);
}

KEVO_TEST(convert_to_f32_dispatch)
{
    uint16_t h[3] = {0x3c00, 0xbc00, 0x0001};
    uint16_t b[3] = {0x3f80, 0xbf80, 0x0001};
    float f[3] = {0.5f, -0.25f, 7.0f}, out[3];
    kevo_convert_to_f32(out, h, KEVO_DTYPE_F16, 3);
    CHECK(out[0] == 1.0f && out[1] == -1.0f && out[2] == ldexpf(1, -24), "F16 dispatch");
    kevo_convert_to_f32(out, b, KEVO_DTYPE_BF16, 3);
    CHECK(out[0] == 1.0f && out[1] == -1.0f && out[2] == from_bits(0x00010000), "BF16 dispatch");
    kevo_convert_to_f32(out, f, KEVO_DTYPE_F32, 3);
    CHECK(memcmp(out, f, sizeof f) == 0, "F32 dispatch");
}
