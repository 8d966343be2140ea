#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace identity::host
{

/// Error descriptions by key, in English and Simplified Chinese. Starts with the host's own keys;
/// plugins add theirs. Entries are copies, so they outlive the plugin that added them.
class MessageCatalog
{
public:
    MessageCatalog();

    void add(const std::string& key, const std::string& english, const std::string& chinese);

    /// The text for `locale` ("zh" or anything else for English); the key itself when unknown.
    std::string text(const std::string& key, const std::string& locale) const;

private:
    mutable std::mutex _mutex;
    std::map<std::string, std::pair<std::string, std::string>> _messages;
};

} // namespace identity::host
