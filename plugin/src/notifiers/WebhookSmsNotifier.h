#pragma once

#include "notifiers/HttpDelivery.h"

#include "identity/sdk/Notifier.h"

#include <string>

namespace identity::reauth
{

/// SMS through the operator's own service: a JSON POST (`{"id","channel","to","text","locale"}`) to an
/// HTTPS URL, signed so the receiver can tell it came from here and is fresh:
/// `X-Identity-Timestamp: <unix seconds>` and
/// `X-Identity-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
/// 5xx and 429 answers are retried, honouring Retry-After. Configuration: `url`, `secret` (at least 32
/// bytes), `ca_file`, `timeout_seconds`.
class WebhookSmsNotifier : public sdk::Notifier
{
public:
    explicit WebhookSmsNotifier(const Poco::Util::AbstractConfiguration& config);

    void send(const sdk::Message& message) override;

    /// The signature header's value for a timestamp and body.
    static std::string signature(const std::string& secret, const std::string& timestamp, const std::string& body);

private:
    HttpDelivery _http;
    std::string _secret;
};

} // namespace identity::reauth
