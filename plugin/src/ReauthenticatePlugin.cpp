#include "ReauthenticatePlugin.h"

#include "ReauthenticateHandler.h"
#include "delivery/OutboxCommands.h"
#include "delivery/DeliveryReportHandler.h"
#include "notifiers/KannelSmsNotifier.h"
#include "notifiers/LogNotifier.h"
#include "notifiers/MaildirNotifier.h"
#include "notifiers/SmtpNotifier.h"
#include "notifiers/WebhookNotifier.h"

#include "identity/sdk/Crypto.h"

#include <algorithm>

#include <Poco/Timestamp.h>

using namespace identity;
using namespace identity::reauth;

ReauthenticatePlugin::ReauthenticatePlugin() = default;

ReauthenticatePlugin::~ReauthenticatePlugin() { stop(); }

void ReauthenticatePlugin::start(sdk::PluginContext& context)
{
    _settings = ReauthenticateSettings::read(context.config());

    const std::string pepper = context.secret("pepper");
    // Derived keys: any configured secret of 32+ bytes gives proper, separate AES and HMAC keys.
    const std::string outboxSecret = context.secret("outbox_key");
    const std::string outboxKey = sdk::crypto::hmacSha256(outboxSecret, "reauthenticate outbox v1");
    const std::string reportKey = sdk::crypto::hmacSha256(outboxSecret, "reauthenticate delivery reports v1");

    sdk::NotifierRegistry& notifiers = context.notifiers();
    notifiers.add("maildir", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<MaildirNotifier>(config);
    });
    notifiers.add("log", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<LogNotifier>(config);
    });
    notifiers.add("smtp", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<SmtpNotifier>(config);
    });
    sdk::SecureRandom& random = context.random();
    notifiers.add("kannel", [reportKey, &random](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<KannelSmsNotifier>(config, reportKey, random);
    });
    notifiers.add("webhook", [](const Poco::Util::AbstractConfiguration& config) {
        return std::make_unique<WebhookNotifier>(config);
    });
    // A channel whose notifier is "" or "none" is off: its verify_opt answers 503. A type of this
    // plugin must deliver the channel; any other is one another plugin provides (through the registry).
    const std::map<std::string, std::set<std::string>> typesByChannel = {
        {"email", {"maildir", "log", "smtp", "webhook"}}, {"sms", {"log", "kannel", "webhook"}}};
    const std::vector<std::string> ownTypes = notifiers.types();
    std::map<std::string, sdk::NotifierPtr> byChannel;
    std::set<std::string> channels;
    for (const auto& [channel, types] : typesByChannel)
    {
        const std::string type = context.config().getString(channel + ".notifier", "");
        if (type.empty() || type == "none")
            continue;
        const bool own = std::find(ownTypes.begin(), ownTypes.end(), type) != ownTypes.end();
        if (own && !types.count(type))
            throw Poco::InvalidArgumentException(channel + ".notifier: '" + type + "' does not deliver " + channel);
        const Poco::Util::AbstractConfiguration::Ptr section = context.config().createView(channel + "." + type);
        byChannel[channel] = notifiers.create(type, *section);
        channels.insert(channel);
    }

    _outbox = std::make_shared<Outbox>(context.storage());
    // A worker per channel, so that a provider that hangs (an SMTP server that accepts and never answers)
    // holds up only its own channel. The first also takes messages of channels no longer configured (they
    // fail as "no notifier"), and prunes.
    std::vector<std::string> workerChannels;
    for (const auto& [channel, notifier] : byChannel)
        workerChannels.push_back(channel);
    if (workerChannels.empty())
        workerChannels.push_back("");
    std::map<std::string, std::shared_ptr<DeliveryWorker>> byWorkerChannel;
    for (std::size_t i = 0; i < workerChannels.size(); ++i)
    {
        const std::string& channel = workerChannels[i];
        std::map<std::string, sdk::NotifierPtr> own;
        if (byChannel.count(channel))
            own.emplace(channel, std::move(byChannel.at(channel)));
        Outbox::ClaimFilter filter;
        if (i == 0)
            filter.except.assign(workerChannels.begin() + 1, workerChannels.end());
        else
            filter.channel = channel;
        auto worker = std::make_shared<DeliveryWorker>(context, _settings, _outbox, outboxKey, std::move(own),
                                                       MessageTemplates(_settings.productName, context.config()),
                                                       std::move(filter), i == 0);
        byWorkerChannel[channel] = worker;
        _workers.push_back(worker);
    }
    // Wakes the worker that takes `channel`'s messages.
    auto wake = [workers = std::map<std::string, std::weak_ptr<DeliveryWorker>>(byWorkerChannel.begin(),
                                                                                 byWorkerChannel.end()),
                 first = std::weak_ptr<DeliveryWorker>(_workers.front())](const std::string& channel) {
        const auto found = workers.find(channel);
        if (auto running = (found == workers.end() ? first : found->second).lock())
            running->wake();
    };
    _codes = std::make_shared<CodeService>(context, _settings, _outbox, pepper, outboxKey, wake);

    // The outbox's depth and the age of its oldest pending message, read at each scrape.
    context.addMetricsCollector([outbox = _outbox, &clock = context.clock()](sdk::MetricsWriter& page) {
        const Outbox::Depth depth = outbox->depth();
        const char* help = "Outbox messages waiting to be sent (pending) or being sent (sending).";
        page.gauge("identity_outbox_messages", help, static_cast<double>(depth.pending), {{"state", "pending"}});
        page.gauge("identity_outbox_messages", help, static_cast<double>(depth.sending), {{"state", "sending"}});
        page.gauge("identity_outbox_oldest_pending_seconds",
                   "Age of the oldest pending outbox message, in seconds; 0 when none is pending.",
                   depth.oldestPendingSince ? static_cast<double>(std::max<Poco::Int64>(0, clock.now() - depth.oldestPendingSince)) : 0.0);
    });

    context.addMessage("invalid_verify_opt", "Invalid verification method, please use phone_code or email_code",
                       "验证方式错误,请使用 phone_code 或 email_code");
    context.addMessage("no_bound_email", "No email address is bound to this account", "该账号未绑定邮箱");
    context.addMessage("no_bound_phone", "No phone number is bound to this account", "该账号未绑定手机号");
    context.addMessage("channel_unavailable", "This verification method is not available",
                       "该验证方式暂不可用");
    context.addMessage("malformed_verification_code", "The verification code must be 6 digits",
                       "验证码须为 6 位数字");

    context.addRoute(sdk::Route{"POST", "/auth/v1/user/reauthenticate", sdk::Route::Auth::AccessToken,
                                ReauthenticateHandler(_codes, channels)});
    if (context.config().getString("sms.notifier", "") == "kannel")
        context.addRoute(sdk::Route{"GET", "/hooks/kannel/dlr", sdk::Route::Auth::None,
                                    DeliveryReportHandler(context, _outbox, reportKey)});
    context.provideService(sdk::CodeVerifier::serviceName, _codes);
    context.provideService(std::string(sdk::UserDataOwner::prefix) + "reauthenticate",
                           std::make_shared<ReauthenticationUserData>(_outbox));
    context.provideService(std::string(sdk::AccountEventListener::prefix) + "reauthenticate",
                           std::make_shared<AccountNotices>(_outbox, channels.count("email") > 0,
                                                            [wake] { wake("email"); }));
    context.provideService(std::string(sdk::AdminCommand::prefix) + "outbox list", std::make_shared<OutboxList>(_outbox));
    context.provideService(std::string(sdk::AdminCommand::prefix) + "outbox retry",
                           std::make_shared<OutboxRetry>(_outbox, context.clock()));
    // Loaded for an operator's command: no delivery from this process.
    if (context.serving())
        for (const auto& worker : _workers)
            worker->start();
}

void ReauthenticatePlugin::stop()
{
    // All told to stop at once, and given one grace of 2 s together, not 2 s each.
    for (const auto& worker : _workers)
        worker->requestStop();
    const Poco::Timestamp deadline = Poco::Timestamp() + 2000 * 1000;
    for (const auto& worker : _workers)
        worker->stop(static_cast<long>(std::max<Poco::Timestamp::TimeDiff>(0, deadline - Poco::Timestamp()) / 1000));
    _workers.clear();
    _codes.reset();
    _outbox.reset();
}

IDENTITY_PLUGIN(ReauthenticatePlugin)
