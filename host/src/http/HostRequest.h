#pragma once

#include "identity/sdk/Http.h"

#include "http/HttpMessage.h"

#include <Poco/Net/NameValueCollection.h>

#include <optional>

namespace identity::host
{

/// The SDK's view of a request, built stage by stage by RequestPipeline; a route's handler gets it
/// finished, as a const sdk::Request.
class HostRequest : public sdk::Request
{
public:
    explicit HostRequest(const HttpRequestHead& head) : _head(head) {}

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

private:
    const HttpRequestHead& _head;
};

} // namespace identity::host
