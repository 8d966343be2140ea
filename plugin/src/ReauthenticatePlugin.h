#pragma once

#include "codes/CodeService.h"
#include "codes/ReauthenticateSettings.h"
#include "delivery/DeliveryWorker.h"
#include "delivery/Outbox.h"

#include "identity/sdk/Plugin.h"

#include <memory>
#include <vector>

/// The reauthentication plugin: `POST /auth/v1/user/reauthenticate` and the code verifier behind the
/// host's `POST /auth/v1/user/sudo`. Global namespace: the manifest names the class unqualified.
class ReauthenticatePlugin : public identity::sdk::Plugin
{
public:
    ReauthenticatePlugin();
    ~ReauthenticatePlugin() override;

    void start(identity::sdk::PluginContext& context) override;
    void stop() override;

private:
    identity::reauth::ReauthenticateSettings _settings;
    // Shared with what the host holds (routes, services) until it drops them after stop().
    std::shared_ptr<identity::reauth::Outbox> _outbox;
    std::vector<std::shared_ptr<identity::reauth::DeliveryWorker>> _workers; ///< one per channel
    std::shared_ptr<identity::reauth::CodeService> _codes;
};
