#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace identity::host
{

/// Checks a whole configuration, as one JSON document, against the host's schema
/// (schema/config.schema.json, compiled into the binary) and the configuration of each enabled plugin
/// against its manifest's `config_schema`, with a maintained validator (valijson). The bounds of every
/// setting live in those schemas.
///
/// Unknown keys are errors that name the nearest known key: `email.notifer` asks "did you mean
/// 'notifier'?".
class ConfigValidator
{
public:
    /// One problem: the dotted key it is about ("" for the whole document) and what is wrong.
    struct Problem
    {
        std::string key;
        std::string message;
        std::string text() const { return (key.empty() ? std::string("configuration") : key) + ": " + message; }
    };

    /// Reads `file` (JSON) and applies `defines` (`--define=KEY=VALUE`, in order) to it, each value
    /// typed as the schema says the key is (so `server.port=0` is the integer 0). Then every secret (a
    /// key whose schema says `writeOnly`) written `file:PATH` is replaced by that file's content, less
    /// surrounding white space (a systemd `LoadCredential=` file, a Kubernetes secret volume). Throws
    /// Poco::DataException when the file, or a secret's file, cannot be read, or it is not a JSON object.
    static Poco::JSON::Object::Ptr document(const std::string& file,
                                            const std::vector<std::pair<std::string, std::string>>& defines);

    /// The `--define`s that environment variables make: `IDENTITY_` + the key path upper-cased, with
    /// `__` for each dot and for an array index (`IDENTITY_SERVER__PORT=8081` is `server.port=8081`,
    /// `IDENTITY_ENVIRONMENT__CLIENTS__1=web` is `environment.clients[1]=web`). A name without `__`
    /// (`IDENTITY_HOME`) names no key and is left alone. In the order of the names, so that the result
    /// does not depend on the environment's order.
    static std::vector<std::pair<std::string, std::string>> environmentDefines(const char* const* environment);

    /// Every problem of the document; empty when it is valid.
    static std::vector<Problem> check(const Poco::JSON::Object::Ptr& document);

    /// Throws Poco::DataException listing every problem (the first names its key) unless the document is valid.
    static void require(const Poco::JSON::Object::Ptr& document);

    /// What the host schema says of one key (`server.threads`): its `default` (empty when it has
    /// none) and, for numbers, its `minimum` and `maximum`. HostSettings reads its defaults and bounds
    /// from here, so they are written once, in the schema. Throws Poco::NotFoundException for a key
    /// the schema does not describe.
    struct KeyFacts
    {
        Poco::Dynamic::Var fallback;
        std::optional<double> minimum;
        std::optional<double> maximum;
    };
    static KeyFacts hostKey(const std::string& key);
};

} // namespace identity::host
