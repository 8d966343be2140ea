#pragma once

#include "identity/sdk/Export.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace identity::sdk
{

/// A cryptographically secure source of random bytes (getrandom(2) in the host). Use it for codes,
/// keys, salts and token identifiers; never `Poco::Random` or `RandomInputStream`, which can fall back
/// to a weak source silently.
class IDENTITY_SDK_API SecureRandom
{
public:
    virtual ~SecureRandom();

    /// Fills `size` bytes at `data`; throws rather than returning weak bytes.
    virtual void fill(unsigned char* data, std::size_t size) = 0;

    /// A uniformly distributed integer in [0, bound), without modulo bias (rejection sampling).
    std::uint32_t uniform(std::uint32_t bound);

    /// `size` random bytes.
    std::string bytes(std::size_t size);
};

} // namespace identity::sdk
