#pragma once

#include "identity/sdk/Export.h"

#include <Poco/Util/AbstractConfiguration.h>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace identity::sdk
{

/// One message to one recipient. Email uses all fields; SMS uses `to` and `text`.
struct Message
{
    std::string id;      ///< stable across retries, for de-duplication by the receiver
    std::string channel; ///< "email" or "sms"
    std::string to;      ///< email address or E.164 phone number
    std::string subject;
    std::string text;
    std::string html;
    std::string locale;
};

/// Thrown by `Notifier::send`. A transient failure (SMTP 4xx, connection refused, timeout, gateway
/// 5xx) is retried while the message is still useful; a permanent one is recorded and dropped.
///
/// The message must describe the failure without the message's content (it is logged and recorded).
class IDENTITY_SDK_API DeliveryError : public std::runtime_error
{
public:
    /// `retryAfterSeconds`: the provider's own request (e.g. HTTP Retry-After), 0 for none.
    DeliveryError(const std::string& what, bool transient, int retryAfterSeconds = 0);
    ~DeliveryError() override;

    bool transient() const { return _transient; }
    int retryAfter() const { return _retryAfter; }

private:
    bool _transient;
    int _retryAfter;
};

/// Delivers messages over one channel. Called from delivery worker threads, one message at a time per
/// notifier object; an implementation may keep a connection open between calls.
class IDENTITY_SDK_API Notifier
{
public:
    virtual ~Notifier();

    virtual void send(const Message& message) = 0;
};

using NotifierPtr = std::unique_ptr<Notifier>;

/// Makes a notifier from its configuration section; validates the configuration and throws
/// Poco::Exception (or std::exception) on a bad one, so that a bad configuration fails at start-up.
using NotifierFactory = std::function<NotifierPtr(const Poco::Util::AbstractConfiguration& config)>;

/// Notifier factories by type name ("maildir", "smtp", "log", …), as in Poco's LoggingFactory.
///
/// Each plugin has its own registry (PluginContext::notifiers()). The types a plugin adds are also
/// offered to every other plugin: `create` with a type this registry lacks asks the host, which makes
/// the notifier with the factory of the plugin that provides the type, and keeps that plugin's build
/// loaded for as long as the notifier lives. When the provider is reloaded, the plugins that use its
/// notifiers are restarted with new ones.
class IDENTITY_SDK_API NotifierRegistry
{
public:
    /// How the host finds a type other plugins provide; returns null when nobody provides it.
    using Fallback = std::function<NotifierPtr(const std::string& type, const Poco::Util::AbstractConfiguration& config)>;

    NotifierRegistry();
    ~NotifierRegistry();

    NotifierRegistry(const NotifierRegistry&) = delete;
    NotifierRegistry& operator=(const NotifierRegistry&) = delete;

    /// Registers a factory; a name registered twice is an error (Poco::ExistsException).
    void add(const std::string& type, NotifierFactory factory);

    /// Makes a notifier of the given type: this registry's own, else one another plugin provides. A
    /// type nobody provides throws Poco::NotFoundException naming the known ones.
    NotifierPtr create(const std::string& type, const Poco::Util::AbstractConfiguration& config) const;

    /// The types added to this registry (not those of other plugins).
    std::vector<std::string> types() const;

    /// Set by the host before the plugin starts.
    void setFallback(Fallback fallback);

    /// Forgets every factory (the host calls it before unloading the plugins that added them).
    void clear();

private:
    std::map<std::string, NotifierFactory> _factories;
    Fallback _fallback;
};

} // namespace identity::sdk
