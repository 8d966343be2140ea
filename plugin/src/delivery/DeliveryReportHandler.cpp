#include "delivery/DeliveryReportHandler.h"

#include "notifiers/KannelSmsNotifier.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <algorithm>

namespace identity::reauth
{

using sdk::ApiError;

namespace
{
constexpr int deliveredBit = 1, failedBit = 2, bufferedBit = 4, acceptedBit = 8, rejectedBit = 16;
constexpr int allBits = deliveredBit | failedBit | bufferedBit | acceptedBit | rejectedBit;

bool isMessageId(const std::string& id)
{
    return !id.empty() && id.size() <= 64 &&
           std::all_of(id.begin(), id.end(),
                       [](char c)
                       {
                           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                                  (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
                       });
}

bool isLowerHex(const std::string& text, std::size_t length)
{
    return text.size() == length &&
           std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
} // namespace

DeliveryReportHandler::DeliveryReportHandler(sdk::PluginContext& context, std::shared_ptr<Outbox> outbox,
                                             std::string reportKey)
    : _context(context), _outbox(std::move(outbox)), _reportKey(std::move(reportKey))
{
}

std::optional<int> DeliveryReportHandler::parseStatus(const std::string& text)
{
    if (text.empty() || text.size() > 2 || text[0] < '1' || text[0] > '9')
        return std::nullopt;
    int value = 0;
    for (char c : text)
    {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value > allBits)
        return std::nullopt;
    return value;
}

std::string DeliveryReportHandler::reportOf(int status)
{
    if (status & deliveredBit)
        return "delivered";
    if (status & failedBit)
        return "failed";
    if (status & rejectedBit)
        return "rejected";
    if (status & acceptedBit)
        return "accepted";
    return "buffered";
}

void DeliveryReportHandler::operator()(const sdk::Request& request, sdk::Response& response) const
{
    const std::string id = request.query("id");
    const std::string nonce = request.query("nonce");
    const std::string signature = request.query("sig");
    const std::optional<int> status = parseStatus(request.query("status"));
    if (!isMessageId(id) || !isLowerHex(nonce, 2 * KannelSmsNotifier::nonceBytes) ||
        !isLowerHex(signature, 64) || !status)
        throw ApiError::invalidArgument();
    if (!sdk::crypto::constantTimeEquals(signature,
                                         KannelSmsNotifier::reportSignature(_reportKey, id, nonce)))
        throw ApiError::permissionDenied();

    const std::string report = reportOf(*status);
    const std::string userId = _outbox->recordReport(id, sdk::crypto::toHex(sdk::crypto::sha256(nonce)),
                                                     *status, report, _context.clock().now());
    if (userId.empty())
        return; // not ours (or erased since), a replay, another nonce, or after a final report
    Poco::JSON::Object fields;
    fields.set("message_id", id);
    fields.set("report", report);
    _context.audit().record(report == "delivered" ? "delivery_confirmed" : "delivery_report", userId, fields);
}

} // namespace identity::reauth
