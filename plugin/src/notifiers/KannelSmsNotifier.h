#pragma once

#include "notifiers/HttpDelivery.h"

#include "identity/sdk/Notifier.h"
#include "identity/sdk/SecureRandom.h"

#include <string>

namespace identity::reauth
{

/// SMS through the Kannel gateway's smsbox HTTP interface (`/cgi-bin/sendsms`): UTF-8 text sent as
/// UCS-2 (`charset=UTF-8&coding=2`, so Chinese arrives intact), with delivery reports
/// (`dlr-mask`, `dlr-url`) called back to the host's `GET /hooks/kannel/dlr`. Each send's report URL
/// carries a fresh random nonce and a signature of the message id with that nonce, so that nobody
/// else can forge one and one URL is good for one message's reports only (see DeliveryReportHandler). Configuration: `url`, `username`, `password`, `from`, `dlr_url`
/// (the report endpoint as the gateway reaches it; empty for no reports), `dlr_mask` (default 3:
/// delivered and failed), `ca_file`, `timeout_seconds`.
class KannelSmsNotifier : public sdk::Notifier
{
public:
    /// `reportKey` signs the report URLs (see reportSignature); `random` makes their nonces.
    KannelSmsNotifier(const Poco::Util::AbstractConfiguration& config, std::string reportKey,
                      sdk::SecureRandom& random);

    void send(const sdk::Message& message) override;

    /// Bytes of randomness in a report URL's nonce (sent as lowercase hex, twice as many characters).
    static constexpr std::size_t nonceBytes = 16;

    /// The report URL's `sig`: hex HMAC-SHA256 under `reportKey` of `kannel-dlr|v2|<id>|<nonce>`
    /// (neither the id nor the nonce can hold a `|`: DeliveryReportHandler checks their characters).
    static std::string reportSignature(const std::string& reportKey, const std::string& messageId,
                                       const std::string& nonce);

private:
    HttpDelivery _http;
    std::string _username;
    std::string _password;
    std::string _from;
    std::string _reportUrl;
    int _reportMask;
    std::string _reportKey;
    sdk::SecureRandom& _random;
};

} // namespace identity::reauth
