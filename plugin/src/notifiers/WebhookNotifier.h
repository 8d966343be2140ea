#pragma once

#include "notifiers/HttpDelivery.h"

#include "identity/sdk/Notifier.h"

#include <string>
#include <vector>

namespace identity::reauth
{

/// Email or SMS (the message's channel) through the operator's own service, as Standard Webhooks (standardwebhooks.com)
/// specify, so that receivers verify it with that project's libraries: a JSON POST
/// `{"type": "<channel>.message", "timestamp": "<RFC 3339>", "data": {"id", "channel", "to", "text",
/// "locale"[, "subject", "html"]}}` with `webhook-id: <message id>` (stable across retries),
/// `webhook-timestamp: <unix seconds>` and `webhook-signature: v1,<base64 HMAC-SHA256(key, id "."
/// timestamp "." body)>`, one signature per configured secret, space-separated (a receiver accepts the
/// message when any of them verifies: rotation without downtime). 5xx, 408 and 429 answers are
/// retried, honouring Retry-After.
///
/// Configuration (the channel's `webhook` section): `url`, `secret` (`whsec_<base64 key>`, a key of 24
/// to 64 bytes), `previous_secrets` (more of them, also signed with while receivers move to `secret`),
/// `ca_file`, `timeout_seconds`.
class WebhookNotifier : public sdk::Notifier
{
public:
    explicit WebhookNotifier(const Poco::Util::AbstractConfiguration& config);

    void send(const sdk::Message& message) override;

    /// The key a `whsec_<base64>` secret stands for; throws Poco::InvalidArgumentException otherwise.
    static std::string key(const std::string& secret);

    /// The `webhook-signature` value for `keys`.
    static std::string signature(const std::vector<std::string>& keys, const std::string& id,
                                 const std::string& timestamp, const std::string& body);

private:
    HttpDelivery _http;
    std::vector<std::string> _keys;
};

} // namespace identity::reauth
