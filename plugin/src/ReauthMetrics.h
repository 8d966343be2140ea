#pragma once

#include "identity/sdk/PluginContext.h"

#include <string>

namespace identity::reauth::metrics
{

/// The plugin's counters on the host's /metrics (SDK 3.3). The host keeps them, so their counts go on
/// across reloads of the plugin.

/// `event`: issued, verified, failed (a wrong code), burned (a code spent by too many wrong ones),
/// locked (verification refused while the user is locked out).
inline void code(sdk::PluginContext& context, const char* event)
{
    context
        .counter("identity_codes_total",
                 "Reauthentication codes, by event: issued, verified, failed (a wrong code), burned (a code spent "
                 "by too many wrong ones), locked (verification refused while locked).",
                 {{"event", event}})
        ->add();
}

/// A send limit that refused a code (`cooldown`, `per_user`, …), in the host's family of limits.
inline void limitHit(sdk::PluginContext& context, const std::string& limit)
{
    context.counter("identity_limits_hit_total", "Requests or connections refused by a limit, by limit.",
                    {{"limit", limit}})
        ->add();
}

/// One delivery attempt's outcome: delivered, retry, failed, expired, cancelled.
inline void delivery(sdk::PluginContext& context, const std::string& channel, const std::string& outcome)
{
    context
        .counter("identity_delivery_attempts_total", "Outbox messages handled by the delivery workers, by channel "
                                                     "and outcome.",
                 {{"channel", channel}, {"outcome", outcome}})
        ->add();
}

} // namespace identity::reauth::metrics
