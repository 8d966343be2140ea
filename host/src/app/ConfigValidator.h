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
    /// typed as the schema says the key is (so `server.port=0` is the integer 0). Throws
    /// Poco::DataException when the file cannot be read or is not a JSON object.
    static Poco::JSON::Object::Ptr document(const std::string& file,
                                            const std::vector<std::pair<std::string, std::string>>& defines);

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
