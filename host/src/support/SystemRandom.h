#pragma once

#include "identity/sdk/SecureRandom.h"

namespace identity::host
{

/// getrandom(2): the kernel's CSPRNG, failing loudly rather than falling back to anything weaker.
class SystemRandom : public sdk::SecureRandom
{
public:
    void fill(unsigned char* data, std::size_t size) override;
};

} // namespace identity::host
