#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace identity::host
{

/// Error descriptions by key, in English and Simplified Chinese: the host's own keys, fixed at
/// construction, and the keys of the plugin generations being served, published with them (so a
/// plugin's messages leave with its generation).
class MessageCatalog
{
public:
    /// English and Chinese text by key.
    using Messages = std::map<std::string, std::pair<std::string, std::string>>;

    MessageCatalog();

    bool isHostKey(const std::string& key) const { return _host.count(key) != 0; }

    /// Replaces the plugins' messages (atomically; readers see the old or the new set).
    void publishPluginMessages(std::shared_ptr<const Messages> messages);

    /// The text for `locale` ("zh" or anything else for English); the key itself when unknown.
    std::string text(const std::string& key, const std::string& locale) const;

private:
    void add(const std::string& key, const std::string& english, const std::string& chinese);

    Messages _host;
    std::shared_ptr<const Messages> _plugins;
};

} // namespace identity::host
