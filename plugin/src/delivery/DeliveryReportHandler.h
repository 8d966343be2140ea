#pragma once

#include "delivery/Outbox.h"

#include "identity/sdk/PluginContext.h"

#include <memory>
#include <string>

namespace identity::reauth
{

/// `GET /hooks/kannel/dlr?id=…&sig=…&status=N`: the Kannel gateway's delivery report for one message,
/// recorded on its outbox row (`report`: delivered, failed, buffered, accepted, rejected). The
/// signature (see KannelSmsNotifier) proves the URL came from us; anything else answers 403 and
/// changes nothing.
class DeliveryReportHandler
{
public:
    DeliveryReportHandler(sdk::PluginContext& context, std::shared_ptr<Outbox> outbox, std::string reportKey);

    void operator()(const sdk::Request& request, sdk::Response& response) const;

private:
    sdk::PluginContext& _context;
    std::shared_ptr<Outbox> _outbox;
    std::string _reportKey;
};

} // namespace identity::reauth
