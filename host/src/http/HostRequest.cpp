#include "http/HostRequest.h"

namespace identity::host
{

HostRequest::HostRequest(Poco::Net::HTTPServerRequest& request) : _request(request) {}

std::string HostRequest::header(const std::string& name) const { return _request.get(name, ""); }

std::string HostRequest::query(const std::string& name) const { return _query.get(name, ""); }

} // namespace identity::host
