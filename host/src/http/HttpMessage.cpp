#include "http/HttpMessage.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

namespace identity::host
{

std::string HttpRequestHead::get(const std::string& name) const
{
    for (const auto& field : fields)
        if (Poco::icompare(field.first, name) == 0)
            return field.second;
    return {};
}

bool HttpRequestHead::has(const std::string& name) const
{
    for (const auto& field : fields)
        if (Poco::icompare(field.first, name) == 0)
            return true;
    return false;
}

std::string HttpRequestHead::all(const std::string& name) const
{
    std::string joined;
    for (const auto& field : fields)
        if (Poco::icompare(field.first, name) == 0)
            joined += (joined.empty() ? "" : ", ") + field.second;
    return joined;
}

const char* HttpResponse::reason(int status)
{
    switch (status)
    {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

std::string HttpResponse::serialize(bool headOnly) const
{
    std::string out;
    out.reserve(256 + body.size());
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason(status);
    out += "\r\nDate: ";
    out += Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::HTTP_FORMAT);
    out += "\r\n";
    for (const auto& [name, value] : headers)
    {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    if (!contentType.empty())
    {
        out += "Content-Type: ";
        out += contentType;
        out += "\r\n";
    }
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
    if (close)
        out += "Connection: close\r\n";
    out += "\r\n";
    if (!headOnly)
        out += body;
    return out;
}

} // namespace identity::host
