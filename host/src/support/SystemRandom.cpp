#include "support/SystemRandom.h"

#include <Poco/Exception.h>

#include <cerrno>
#include <sys/random.h>

namespace identity::host
{

void SystemRandom::fill(unsigned char* data, std::size_t size)
{
    std::size_t done = 0;
    while (done < size)
    {
        const ssize_t n = getrandom(data + done, size - done, 0);
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            throw Poco::SystemException("getrandom failed", errno);
        }
        done += static_cast<std::size_t>(n);
    }
}

} // namespace identity::host
