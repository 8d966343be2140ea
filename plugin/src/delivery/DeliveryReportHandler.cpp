#include "delivery/DeliveryReportHandler.h"

#include "notifiers/KannelSmsNotifier.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/NumberParser.h>

namespace identity::reauth
{

using sdk::ApiError;

DeliveryReportHandler::DeliveryReportHandler(sdk::PluginContext& context, std::shared_ptr<Outbox> outbox,
                                             std::string reportKey)
    : _context(context), _outbox(std::move(outbox)), _reportKey(std::move(reportKey))
{
}

void DeliveryReportHandler::operator()(const sdk::Request& request, sdk::Response& response) const
{
    const std::string id = request.query("id");
    int status = 0;
    if (id.empty() || id.size() > 64 || !Poco::NumberParser::tryParse(request.query("status"), status))
        throw ApiError::invalidArgument();
    if (!sdk::crypto::constantTimeEquals(request.query("sig"), KannelSmsNotifier::reportSignature(_reportKey, id)))
        throw ApiError::permissionDenied();

    // Kannel's report types; a combined value keeps its most final part.
    std::string report;
    if (status & 1)
        report = "delivered";
    else if (status & 2)
        report = "failed";
    else if (status & 16)
        report = "rejected";
    else if (status & 8)
        report = "accepted";
    else if (status & 4)
        report = "buffered";
    else
        throw ApiError::invalidArgument();

    const std::string userId = _outbox->recordReport(id, report, _context.clock().now());
    if (userId.empty())
        return; // not ours (or erased since): nothing to record, nothing to tell
    Poco::JSON::Object fields;
    fields.set("message_id", id);
    fields.set("report", report);
    _context.audit().record(report == "delivered" ? "delivery_confirmed" : "delivery_report", userId, fields);
}

} // namespace identity::reauth
