#include "notifiers/WebhookNotifier.h"

#include "notifiers/EncodedWord.h" // base64

#include "identity/sdk/Crypto.h"

#include <Poco/Base64Decoder.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <sstream>

namespace identity::reauth
{

std::string WebhookNotifier::key(const std::string& secret)
{
    const std::string prefix = "whsec_";
    const std::string encoded = secret.compare(0, prefix.size(), prefix) == 0 ? secret.substr(prefix.size()) : "";
    std::string bytes;
    if (!encoded.empty() && encoded.find_first_not_of(
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == std::string::npos)
    {
        try
        {
            std::istringstream in(encoded);
            Poco::Base64Decoder decoder(in);
            std::ostringstream out;
            out << decoder.rdbuf();
            bytes = out.str();
        }
        catch (const Poco::Exception&)
        {
            bytes.clear();
        }
    }
    if (bytes.size() < 24 || bytes.size() > 64)
        throw Poco::InvalidArgumentException("a webhook secret must be whsec_ and the base64 of a 24 to 64-byte key");
    return bytes;
}

std::string WebhookNotifier::signature(const std::vector<std::string>& keys, const std::string& id,
                                       const std::string& timestamp, const std::string& body)
{
    std::string value;
    for (const std::string& key : keys)
        value += (value.empty() ? "v1," : " v1,") + base64(sdk::crypto::hmacSha256(key, id + "." + timestamp + "." + body));
    return value;
}

WebhookNotifier::WebhookNotifier(const Poco::Util::AbstractConfiguration& config) : _http(config, "webhook")
{
    const std::string secret = config.getString("secret", "");
    if (secret.empty() || secret.find("${") != std::string::npos)
        throw Poco::InvalidArgumentException("webhook.secret must be set");
    try
    {
        _keys.push_back(key(secret));
        for (int i = 0; config.has("previous_secrets[" + std::to_string(i) + "]"); ++i)
            _keys.push_back(key(config.getString("previous_secrets[" + std::to_string(i) + "]")));
    }
    catch (const Poco::InvalidArgumentException& error)
    {
        throw Poco::InvalidArgumentException("webhook: " + error.message());
    }
}

void WebhookNotifier::send(const sdk::Message& message)
{
    const Poco::Timestamp now;
    Poco::JSON::Object::Ptr data = new Poco::JSON::Object;
    data->set("id", message.id);
    data->set("channel", message.channel);
    data->set("to", message.to);
    data->set("text", message.text);
    data->set("locale", message.locale);
    if (message.channel == "email")
    {
        data->set("subject", message.subject);
        data->set("html", message.html);
    }
    Poco::JSON::Object payload;
    payload.set("type", message.channel + ".message");
    payload.set("timestamp", Poco::DateTimeFormatter::format(now, Poco::DateTimeFormat::ISO8601_FORMAT));
    payload.set("data", data);
    std::ostringstream json;
    payload.stringify(json);
    const std::string body = json.str();
    const std::string timestamp = std::to_string(now.epochTime());

    const std::string target = _http.url().getPathAndQuery();
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target.empty() ? "/" : target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json; charset=utf-8");
    request.set("webhook-id", message.id);
    request.set("webhook-timestamp", timestamp);
    request.set("webhook-signature", signature(_keys, message.id, timestamp, body));
    _http.exchange(request, body);
}

} // namespace identity::reauth
