#pragma once

#include "identity/sdk/Http.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/NameValueCollection.h>

#include <optional>

namespace identity::host
{

/// The SDK's view of a Poco server request, filled in step by step by HostRequestHandler.
class HostRequest : public sdk::Request
{
public:
    explicit HostRequest(Poco::Net::HTTPServerRequest& request);

    const std::string& method() const override { return _method; }
    const std::string& path() const override { return _path; }
    std::string header(const std::string& name) const override;
    std::string query(const std::string& name) const override;
    const Poco::JSON::Object& body() const override { return *_body; }
    const std::string& clientAddress() const override { return _clientAddress; }
    const std::string& requestId() const override { return _requestId; }
    const std::string& deviceId() const override { return _deviceId; }
    const std::string& clientId() const override { return _clientId; }
    const std::string& locale() const override { return _locale; }
    const sdk::Principal* principal() const override { return _principal ? &*_principal : nullptr; }

    Poco::Net::HTTPServerRequest& poco() { return _request; }

    std::string _method;
    std::string _path;
    Poco::Net::NameValueCollection _query;
    Poco::JSON::Object::Ptr _body = new Poco::JSON::Object;
    std::string _clientAddress;
    std::string _requestId;
    std::string _deviceId;
    std::string _clientId;
    std::string _locale = "en";
    std::optional<sdk::Principal> _principal;
    bool _bodyRead = false; ///< the whole body was read (else the connection cannot be reused)

private:
    Poco::Net::HTTPServerRequest& _request;
};

} // namespace identity::host
