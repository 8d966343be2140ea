#pragma once

#include "identity/sdk/Notifier.h"

#include <memory>

namespace identity::host
{

/// A notifier made by another plugin's factory, handed to the plugin that asked for its type. It holds
/// the provider's generation, so the provider's code stays loaded while the notifier lives, and
/// destroys the notifier (provider code) before letting go of it.
class SharedNotifier : public sdk::Notifier
{
public:
    SharedNotifier(std::shared_ptr<const void> provider, sdk::NotifierPtr notifier)
        : _provider(std::move(provider)), _notifier(std::move(notifier))
    {
    }

    ~SharedNotifier() override { _notifier.reset(); }

    void send(const sdk::Message& message) override { _notifier->send(message); }

private:
    std::shared_ptr<const void> _provider; // declared first: released last
    sdk::NotifierPtr _notifier;
};

} // namespace identity::host
