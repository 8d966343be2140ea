#pragma once

#include "notifiers/HttpDelivery.h"

#include "identity/sdk/Notifier.h"

#include <string>

namespace identity::reauth
{

/// SMS through the Kannel gateway's smsbox HTTP interface (`/cgi-bin/sendsms`): UTF-8 text sent as
/// UCS-2 (`charset=UTF-8&coding=2`, so Chinese arrives intact), with delivery reports
/// (`dlr-mask`, `dlr-url`) called back to the host's `GET /hooks/kannel/dlr`, signed per message so
/// that nobody else can forge them. Configuration: `url`, `username`, `password`, `from`, `dlr_url`
/// (the report endpoint as the gateway reaches it; empty for no reports), `dlr_mask` (default 3:
/// delivered and failed), `ca_file`, `timeout_seconds`.
class KannelSmsNotifier : public sdk::Notifier
{
public:
    /// `reportKey` signs the report URLs (see reportSignature).
    KannelSmsNotifier(const Poco::Util::AbstractConfiguration& config, std::string reportKey);

    void send(const sdk::Message& message) override;

    static std::string reportSignature(const std::string& reportKey, const std::string& messageId);

private:
    HttpDelivery _http;
    std::string _username;
    std::string _password;
    std::string _from;
    std::string _reportUrl;
    int _reportMask;
    std::string _reportKey;
};

} // namespace identity::reauth
