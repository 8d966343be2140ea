#pragma once

#include "identity/sdk/SecureRandom.h"

#include <Poco/JSON/Object.h>

#include <mutex>
#include <string>

namespace identity::host
{

/// Resolves secrets: a configured value (usually `${system.env.NAME}`, or `file:PATH` to read one from
/// a file), or, when the configuration allows it (development), a random secret generated once and kept
/// in a file readable by the owner only. An unset environment variable leaves Poco's `${…}` text in
/// place: that counts as unset, never as the secret.
class SecretStore
{
public:
    /// `file` may be empty when generation is off.
    SecretStore(std::string file, bool generate, sdk::SecureRandom& random);

    /// `configured` is the configuration's (expanded) value; `name` identifies a generated secret.
    /// Throws Poco::InvalidArgumentException naming the key (never the value) when unavailable or
    /// shorter than 32 bytes.
    std::string resolve(const std::string& name, const std::string& configured);

    /// The trimmed content of the secret file `path` (a `file:PATH` value): a regular file (a link to
    /// one is followed) of at most 64 KiB, read whole. Anything else (a directory, a FIFO, a device such
    /// as /dev/zero, a larger file, a read error) throws Poco::DataException naming only the path.
    static std::string readSecretFile(const std::string& path);

private:
    std::string _file;
    bool _generate;
    sdk::SecureRandom& _random;
    std::mutex _mutex;
};

} // namespace identity::host
