#include "notifiers/KannelSmsNotifier.h"

#include "identity/sdk/Crypto.h"

#include <Poco/URI.h>

namespace identity::reauth
{

KannelSmsNotifier::KannelSmsNotifier(const Poco::Util::AbstractConfiguration& config, std::string reportKey,
                                     sdk::SecureRandom& random)
    : _http(config, "sms.kannel"), _username(config.getString("username", "")),
      _password(config.getString("password", "")), _from(config.getString("from", "")),
      _reportUrl(config.getString("dlr_url", "")), _reportMask(config.getInt("dlr_mask", 3)),
      _reportKey(std::move(reportKey)), _random(random)
{
    if (_username.empty() || _password.empty() || _password.find("${") != std::string::npos)
        throw Poco::InvalidArgumentException("sms.kannel.username and sms.kannel.password must be set");
}

std::string KannelSmsNotifier::reportSignature(const std::string& reportKey, const std::string& messageId,
                                               const std::string& nonce)
{
    return sdk::crypto::toHex(sdk::crypto::hmacSha256(reportKey, "kannel-dlr|v2|" + messageId + "|" + nonce));
}

void KannelSmsNotifier::send(const sdk::Message& message)
{
    Poco::URI uri(_http.url());
    uri.addQueryParameter("username", _username);
    uri.addQueryParameter("password", _password);
    if (!_from.empty())
        uri.addQueryParameter("from", _from);
    uri.addQueryParameter("to", message.to);
    uri.addQueryParameter("text", message.text);
    uri.addQueryParameter("charset", "UTF-8");
    uri.addQueryParameter("coding", "2");
    if (!_reportUrl.empty())
    {
        // Kannel replaces %d with the report's type (1 delivered, 2 failed, 4 buffered, 8 accepted by
        // the SMSC, 16 rejected by the SMSC). The status is not signed (Kannel fills it in), so the
        // handler takes each type once and never a report after a final one.
        const std::string nonce = sdk::crypto::toHex(_random.bytes(nonceBytes));
        Poco::URI report(_reportUrl);
        report.addQueryParameter("id", message.id);
        report.addQueryParameter("nonce", nonce);
        report.addQueryParameter("sig", reportSignature(_reportKey, message.id, nonce));
        uri.addQueryParameter("dlr-mask", std::to_string(_reportMask));
        uri.addQueryParameter("dlr-url", report.toString() + "&status=%d");
    }
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    _http.exchange(request);
}

} // namespace identity::reauth
