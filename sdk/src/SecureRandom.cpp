#include "identity/sdk/SecureRandom.h"

#include <limits>

namespace identity::sdk
{

std::uint32_t SecureRandom::uniform(std::uint32_t bound)
{
    if (bound < 2)
        return 0;
    // Reject the top partial block of the 32-bit range, so every residue is equally likely.
    const std::uint32_t limit = std::numeric_limits<std::uint32_t>::max() - (std::numeric_limits<std::uint32_t>::max() % bound);
    for (;;)
    {
        unsigned char raw[4];
        fill(raw, sizeof raw);
        const std::uint32_t value = (std::uint32_t(raw[0]) << 24) | (std::uint32_t(raw[1]) << 16) |
                                    (std::uint32_t(raw[2]) << 8) | std::uint32_t(raw[3]);
        if (value < limit)
            return value % bound;
    }
}

std::string SecureRandom::bytes(std::size_t size)
{
    std::string result(size, '\0');
    fill(reinterpret_cast<unsigned char*>(result.data()), size);
    return result;
}

} // namespace identity::sdk
