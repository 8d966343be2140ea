#pragma once

#include <cstdio>
#include <cstdlib>

/// A property of the code under test that the input broke: printed and aborted, so that libFuzzer
/// keeps the input as a crash.
#define FUZZ_REQUIRE(condition)                                                                              \
    do                                                                                                       \
    {                                                                                                        \
        if (!(condition))                                                                                    \
        {                                                                                                    \
            std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #condition);            \
            std::abort();                                                                                    \
        }                                                                                                    \
    } while (false)
