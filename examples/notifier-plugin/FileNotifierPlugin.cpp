// A notifier plugin: the notifier type "file", for either channel, appends one JSON line per message
// to `path`. Any plugin's configuration can select it, e.g. the reauthenticate plugin's
// "sms": {"notifier": "file", "file": {"path": "var/sms.jsonl"}}.
#include "identity/sdk/Plugin.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>

#include <fstream>
#include <mutex>

using identity::sdk::DeliveryError;
using identity::sdk::Message;

class FileNotifier : public identity::sdk::Notifier
{
public:
    explicit FileNotifier(const Poco::Util::AbstractConfiguration& config) : _path(config.getString("path", ""))
    {
        if (_path.empty())
            throw Poco::InvalidArgumentException("file notifier: path is not set");
    }

    void send(const Message& message) override
    {
        Poco::JSON::Object line;
        line.set("id", message.id);
        line.set("channel", message.channel);
        line.set("to", message.to);
        line.set("text", message.text);
        std::lock_guard<std::mutex> lock(_mutex);
        std::ofstream out(_path, std::ios::app);
        line.stringify(out);
        out << '\n';
        if (!out.flush())
            throw DeliveryError("file notifier: cannot write " + _path, true);
    }

private:
    std::string _path;
    std::mutex _mutex;
};

class FileNotifierPlugin : public identity::sdk::Plugin
{
public:
    void start(identity::sdk::PluginContext& context) override
    {
        context.notifiers().add("file", [](const Poco::Util::AbstractConfiguration& config) {
            return std::make_unique<FileNotifier>(config);
        });
    }

    void stop() override {}
};

IDENTITY_PLUGIN(FileNotifierPlugin)
