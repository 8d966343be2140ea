#include "notifiers/WebhookSmsNotifier.h"

#include "identity/sdk/Crypto.h"

#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <sstream>

namespace identity::reauth
{

WebhookSmsNotifier::WebhookSmsNotifier(const Poco::Util::AbstractConfiguration& config)
    : _http(config, "sms.webhook"), _secret(config.getString("secret", ""))
{
    if (_secret.size() < 32 || _secret.find("${") != std::string::npos)
        throw Poco::InvalidArgumentException("sms.webhook.secret must be set, at least 32 bytes");
}

std::string WebhookSmsNotifier::signature(const std::string& secret, const std::string& timestamp,
                                          const std::string& body)
{
    return "v1=" + sdk::crypto::toHex(sdk::crypto::hmacSha256(secret, timestamp + "." + body));
}

void WebhookSmsNotifier::send(const sdk::Message& message)
{
    Poco::JSON::Object payload;
    payload.set("id", message.id);
    payload.set("channel", message.channel);
    payload.set("to", message.to);
    payload.set("text", message.text);
    payload.set("locale", message.locale);
    std::ostringstream json;
    payload.stringify(json);
    const std::string body = json.str();
    const std::string timestamp = std::to_string(Poco::Timestamp().epochTime());

    const std::string target = _http.url().getPathAndQuery();
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target.empty() ? "/" : target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json; charset=utf-8");
    request.set("X-Identity-Timestamp", timestamp);
    request.set("X-Identity-Signature", signature(_secret, timestamp, body));
    request.set("Idempotency-Key", message.id);
    _http.exchange(request, body);
}

} // namespace identity::reauth
