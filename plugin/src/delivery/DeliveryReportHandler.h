#pragma once

#include "delivery/Outbox.h"

#include "identity/sdk/PluginContext.h"

#include <memory>
#include <optional>
#include <string>

namespace identity::reauth
{

/// `GET /hooks/kannel/dlr?id=…&nonce=…&sig=…&status=N`: the Kannel gateway's delivery report for one
/// message, recorded on its outbox row (`report`: delivered, failed, buffered, accepted, rejected).
///
/// Every parameter is checked before use: a malformed one (an id of other than 1–64 letters, digits,
/// `-` or `_`; a nonce of other than 32 lowercase hex digits; a signature of other than 64; a status
/// that is not a plain decimal 1–31) answers 400 4001. The signature (see KannelSmsNotifier) proves
/// the id and the nonce came from us; a wrong one answers 403 4030. Both change nothing.
///
/// The status is Kannel's and not signed, so a report is taken once: a type already accepted for the
/// message (a replay), any report once a final one (delivered, failed, rejected) is recorded, and a
/// report with another nonce than the first accepted one change nothing, and answer 200 `{}` like a
/// recorded report, so that a replayed URL learns nothing and the gateway sees no failure.
class DeliveryReportHandler
{
public:
    DeliveryReportHandler(sdk::PluginContext& context, std::shared_ptr<Outbox> outbox, std::string reportKey);

    void operator()(const sdk::Request& request, sdk::Response& response) const;

    /// A report's type bits as Kannel's `%d` gives them (1 delivered, 2 failed, 4 buffered, 8 accepted
    /// by the SMSC, 16 rejected by the SMSC, or a sum of them): a plain decimal 1–31, no sign, no
    /// leading zero, nothing after it; empty for anything else.
    static std::optional<int> parseStatus(const std::string& text);

    /// The report a type stands for, a combined value keeping its most final part: "delivered",
    /// "failed", "rejected", "accepted" or "buffered".
    static std::string reportOf(int status);

private:
    sdk::PluginContext& _context;
    std::shared_ptr<Outbox> _outbox;
    std::string _reportKey;
};

} // namespace identity::reauth
