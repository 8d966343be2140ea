#include "http/HostRequest.h"

namespace identity::host
{

std::string HostRequest::header(const std::string& name) const { return _head.get(name); }

std::string HostRequest::query(const std::string& name) const { return _query.get(name, ""); }

} // namespace identity::host
