#include "app/ConfigValidator.h"

#include "app/HostSchema.h"
#include "app/SecretStore.h"
#include "plugins/PluginManifest.h"

#include <Poco/Exception.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/NumberParser.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>

#include <valijson/adapters/poco_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace identity::host
{

namespace
{
using Object = Poco::JSON::Object::Ptr;

Object parseObject(const std::string& text, const std::string& what)
{
    try
    {
        Poco::JSON::Parser parser;
        return parser.parse(text).extract<Object>();
    }
    catch (const Poco::Exception& error)
    {
        throw Poco::DataException(what + " is not valid JSON: " + error.displayText());
    }
    catch (const std::exception&)
    {
        throw Poco::DataException(what + " is not a JSON object");
    }
}

Object readObject(const std::string& path, const std::string& what)
{
    std::string text;
    try
    {
        Poco::FileInputStream in(path);
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    catch (const Poco::Exception& error)
    {
        throw Poco::DataException("cannot read " + what + " " + path + ": " + error.displayText());
    }
    return parseObject(text, what + " " + path);
}

std::size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
    {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
        {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

/// Just enough of a schema's structure to find the subschemas of a key: its `properties`,
/// `additionalProperties`, local `$ref`s and the branches of `allOf`, `anyOf`, `oneOf`, `then`, `else`.
/// What a key may hold (its type, its known members) is read from there; validating is valijson's.
class SchemaView
{
public:
    explicit SchemaView(Object root) : _root(std::move(root)) {}

    std::vector<Object> root() const { return expand(_root); }

    std::vector<Object> child(const std::vector<Object>& nodes, const std::string& key) const
    {
        std::vector<Object> result;
        for (const Object& node : nodes)
        {
            Object properties = node->getObject("properties");
            if (properties && properties->isObject(key))
                append(result, expand(properties->getObject(key)));
            else if (node->isObject("additionalProperties"))
                append(result, expand(node->getObject("additionalProperties")));
        }
        return result;
    }

    std::vector<Object> item(const std::vector<Object>& nodes) const
    {
        std::vector<Object> result;
        for (const Object& node : nodes)
            if (node->isObject("items"))
                append(result, expand(node->getObject("items")));
        return result;
    }

    static std::set<std::string> knownKeys(const std::vector<Object>& nodes)
    {
        std::set<std::string> keys;
        for (const Object& node : nodes)
            if (Object properties = node->getObject("properties"))
                for (const auto& member : *properties)
                    keys.insert(member.first);
        return keys;
    }

    static std::string type(const std::vector<Object>& nodes)
    {
        for (const Object& node : nodes)
            if (node->has("type") && node->get("type").isString())
                return node->getValue<std::string>("type");
        return {};
    }

private:
    static void append(std::vector<Object>& to, const std::vector<Object>& from) { to.insert(to.end(), from.begin(), from.end()); }

    Object resolve(const std::string& reference) const
    {
        if (reference.rfind("#/", 0) != 0)
            return nullptr; // another document: not followed here
        Object node = _root;
        Poco::StringTokenizer parts(reference.substr(2), "/");
        for (const std::string& part : parts)
        {
            if (!node || !node->isObject(part))
                return nullptr;
            node = node->getObject(part);
        }
        return node;
    }

    std::vector<Object> expand(const Object& node, int depth = 0) const
    {
        std::vector<Object> result;
        if (!node || depth > 16)
            return result;
        result.push_back(node);
        if (node->has("$ref") && node->get("$ref").isString())
            append(result, expand(resolve(node->getValue<std::string>("$ref")), depth + 1));
        for (const char* branch : {"then", "else"})
            if (node->isObject(branch))
                append(result, expand(node->getObject(branch), depth + 1));
        for (const char* list : {"allOf", "anyOf", "oneOf"})
            if (Poco::JSON::Array::Ptr members = node->getArray(list))
                for (std::size_t i = 0; i < members->size(); ++i)
                    if (members->isObject(i))
                        append(result, expand(members->getObject(i), depth + 1));
        return result;
    }

    Object _root;
};

/// A dotted key with optional `[i]` indices, as --define writes it: "environment.clients[0]".
struct KeyPart
{
    std::string name;
    std::vector<std::size_t> indices;
};

std::vector<KeyPart> splitKey(const std::string& key)
{
    std::vector<KeyPart> parts;
    Poco::StringTokenizer tokens(key, ".");
    for (std::string token : tokens)
    {
        KeyPart part;
        const auto bracket = token.find('[');
        part.name = token.substr(0, bracket);
        for (auto open = bracket; open != std::string::npos; open = token.find('[', open + 1))
        {
            const auto close = token.find(']', open);
            unsigned index = 0;
            if (close == std::string::npos || !Poco::NumberParser::tryParseUnsigned(token.substr(open + 1, close - open - 1), index))
                throw Poco::DataException("--define " + key + ": malformed index");
            part.indices.push_back(index);
        }
        if (part.name.empty())
            throw Poco::DataException("--define " + key + ": empty key segment");
        parts.push_back(part);
    }
    if (parts.empty())
        throw Poco::DataException("--define needs a key");
    return parts;
}

/// The value of a --define as the schema types its key; text that does not parse stays text, and the
/// validation then names the key.
Poco::Dynamic::Var typedValue(const std::string& type, const std::string& text)
{
    if (type == "integer")
    {
        Poco::Int64 value = 0;
        if (Poco::NumberParser::tryParse64(text, value))
            return value;
    }
    else if (type == "number")
    {
        double value = 0;
        if (Poco::NumberParser::tryParseFloat(text, value))
            return value;
    }
    else if (type == "boolean")
    {
        if (text == "true")
            return true;
        if (text == "false")
            return false;
    }
    else if (type == "array" || type == "object")
    {
        try
        {
            Poco::JSON::Parser parser;
            return parser.parse(text);
        }
        catch (...)
        {
        }
    }
    return text;
}

void setValue(const Object& document, const std::vector<KeyPart>& parts, const Poco::Dynamic::Var& value)
{
    Object node = document;
    for (std::size_t p = 0; p < parts.size(); ++p)
    {
        const KeyPart& part = parts[p];
        const bool last = p + 1 == parts.size();
        if (part.indices.empty())
        {
            if (last)
                node->set(part.name, value);
            else
            {
                if (!node->isObject(part.name))
                    node->set(part.name, Object(new Poco::JSON::Object));
                node = node->getObject(part.name);
            }
            continue;
        }
        if (part.indices.size() != 1)
            throw Poco::DataException("--define: nested array indices are not supported");
        Poco::JSON::Array::Ptr array = node->getArray(part.name);
        if (!array)
        {
            array = new Poco::JSON::Array;
            node->set(part.name, array);
        }
        const std::size_t index = part.indices[0];
        if (index > array->size() + 1024) // each missing entry is a null: a huge index filled memory
            throw Poco::DataException("--define: index " + std::to_string(index) + " of " + part.name +
                                      " is more than 1024 beyond its " + std::to_string(array->size()) +
                                      " entries");
        while (array->size() <= index)
            array->add(Poco::Dynamic::Var());
        if (last)
            array->set(static_cast<unsigned>(index), value);
        else
        {
            if (!array->isObject(index))
                array->set(static_cast<unsigned>(index), Object(new Poco::JSON::Object));
            node = array->getObject(index);
        }
    }
}

/// "did you mean 'x'?" for the known key nearest to `name`, or the list of known keys; "" when none is known.
std::string suggestion(const std::string& name, const std::set<std::string>& known)
{
    std::string nearest;
    std::size_t best = std::string::npos;
    for (const std::string& candidate : known)
    {
        const std::size_t distance = editDistance(name, candidate);
        if (distance < best)
        {
            best = distance;
            nearest = candidate;
        }
    }
    if (!nearest.empty() && best <= std::max<std::size_t>(2, nearest.size() / 3))
        return "did you mean '" + nearest + "'?";
    std::string list;
    for (const std::string& candidate : known)
        list += (list.empty() ? "" : ", ") + candidate;
    return list.empty() ? std::string() : "known: " + list;
}

std::vector<Object> nodesAt(const SchemaView& schema, const std::vector<KeyPart>& parts, std::size_t count)
{
    std::vector<Object> nodes = schema.root();
    for (std::size_t p = 0; p < count && p < parts.size(); ++p)
    {
        nodes = schema.child(nodes, parts[p].name);
        for (std::size_t i = 0; i < parts[p].indices.size(); ++i)
            nodes = schema.item(nodes);
    }
    return nodes;
}

Object hostSchema()
{
    static const Object schema = parseObject(hostConfigSchemaText(), "the built-in host schema");
    return schema;
}

/// The manifest's `config_schema`: inline, or `{"$ref": "<path relative to the manifest's folder>"}`.
Object pluginSchema(const PluginManifest& manifest)
{
    Object schema = manifest.configSchema;
    if (schema && schema->size() == 1 && schema->has("$ref") && schema->get("$ref").isString())
        schema = readObject(manifest.resolve(schema->getValue<std::string>("$ref")), "plugin '" + manifest.name + "' config schema");
    return schema;
}

/// `over` laid key by key onto a copy of `base` (how the plugin sees its configuration).
Object layered(const Object& base, const Object& over)
{
    Object result = new Poco::JSON::Object(*base);
    for (const auto& member : *over)
    {
        if (member.second.type() == typeid(Object) && result->isObject(member.first))
            result->set(member.first, layered(result->getObject(member.first), member.second.extract<Object>()));
        else
            result->set(member.first, member.second);
    }
    return result;
}

std::string keyOf(const std::vector<std::string>& context)
{
    std::string key;
    for (const std::string& part : context)
    {
        if (part == "<root>" || part.size() < 2 || part.front() != '[')
            continue;
        const std::string inner = part.substr(1, part.size() - 2);
        const bool index = !inner.empty() && std::all_of(inner.begin(), inner.end(), ::isdigit);
        key += index ? "[" + inner + "]" : (key.empty() ? "" : ".") + inner;
    }
    return key;
}

/// The same path as keyOf, as parts: taken from the context itself, not by parsing the key again,
/// which a document's own key names could break (a `[`, a `.` or an empty name in a key).
std::vector<KeyPart> partsOf(const std::vector<std::string>& context)
{
    std::vector<KeyPart> parts;
    for (const std::string& part : context)
    {
        if (part == "<root>" || part.size() < 2 || part.front() != '[')
            continue;
        const std::string inner = part.substr(1, part.size() - 2);
        const bool index = !inner.empty() && std::all_of(inner.begin(), inner.end(), ::isdigit);
        unsigned value = 0;
        if (index && !parts.empty() && Poco::NumberParser::tryParseUnsigned(inner, value))
            parts.back().indices.push_back(value);
        else if (!index)
            parts.push_back(KeyPart{inner, {}});
    }
    return parts;
}

/// Validates `document` against `schemaObject`; problems are keyed under `prefix`.
void validate(const Object& schemaObject, const Object& document, const std::string& prefix,
              std::vector<ConfigValidator::Problem>& problems)
{
    using Adapter = valijson::adapters::PocoJsonAdapter;
    valijson::Schema schema;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    // Documents the schema names by file (a plugin's own configuration schema, referenced from the
    // host schema for the documentation's sake) are checked on their own: here they accept anything.
    auto fetch = [](const std::string&) -> const Poco::Dynamic::Var* {
        return new Poco::Dynamic::Var(Object(new Poco::JSON::Object));
    };
    auto release = [](const Poco::Dynamic::Var* document) { delete document; };
    const Poco::Dynamic::Var schemaValue(schemaObject);
    try
    {
        parser.populateSchema(Adapter(schemaValue), schema, fetch, release);
    }
    catch (const std::exception& error)
    {
        problems.push_back({prefix, std::string("its schema is not usable: ") + error.what()});
        return;
    }

    valijson::Validator validator;
    valijson::ValidationResults results;
    const Poco::Dynamic::Var target(document);
    if (validator.validate(schema, Adapter(target), &results))
        return;

    const SchemaView view(schemaObject);
    std::vector<ConfigValidator::Problem> found;
    for (const auto& error : results)
    {
        const std::string& text = error.description;
        // Each failing level repeats its child's failure: keep what names the cause.
        if (text.rfind("Failed to validate against schema associated with property name", 0) == 0 ||
            text.rfind("Failed to validate against child schema", 0) == 0 ||
            text.rfind("Failed to validate item #", 0) == 0 ||
            text.rfind("Failed to validate against additional properties schema", 0) == 0)
            continue;
        std::string key = keyOf(error.context);
        std::string message = text;
        static const std::string unknown = "could not be validated using 'properties' or 'additionalProperties' constraints: '";
        const auto at = text.find(unknown);
        if (at != std::string::npos)
        {
            const std::string name = text.substr(at + unknown.size(), text.rfind('\'') - at - unknown.size());
            const std::vector<KeyPart> parts = partsOf(error.context);
            const std::set<std::string> known = SchemaView::knownKeys(nodesAt(view, parts, parts.size()));
            const std::string hint = suggestion(name, known);
            message = "unknown key" + (hint.empty() ? "" : "; " + hint);
            key = key.empty() ? name : key + "." + name;
        }
        else if (text.find("'type' constraint") != std::string::npos && !partsOf(error.context).empty())
        {
            const std::vector<KeyPart> parts = partsOf(error.context);
            const std::string type = SchemaView::type(nodesAt(view, parts, parts.size()));
            const bool vowel = !type.empty() && std::string("aeiou").find(type[0]) != std::string::npos;
            message = type.empty() ? "wrong type" : "must be " + std::string(vowel ? "an " : "a ") + type;
            // A key the schema does not name, taken by an open-ended `additionalProperties` (another
            // plugin's notifier section, say): most likely a misspelling of one it does name.
            const std::set<std::string> known = SchemaView::knownKeys(nodesAt(view, parts, parts.size() - 1));
            if (!known.empty() && !known.count(parts.back().name) && parts.back().indices.empty())
                message = "unknown key; " + suggestion(parts.back().name, known) + " (or, if it is meant as " +
                          "an open-ended section, it " + message + ")";
        }
        key = prefix.empty() ? key : (key.empty() ? prefix : prefix + "." + key);
        found.push_back({key, message});
    }
    if (found.empty()) // nothing but the cascade: report its innermost line
        for (const auto& error : results)
        {
            const std::string key = keyOf(error.context);
            found.push_back({prefix.empty() ? key : (key.empty() ? prefix : prefix + "." + key), error.description});
        }
    problems.insert(problems.end(), found.begin(), found.end());
}
} // namespace

ConfigValidator::KeyFacts ConfigValidator::hostKey(const std::string& key)
{
    const SchemaView host(hostSchema());
    const std::vector<KeyPart> parts = splitKey(key);
    const std::vector<Object> nodes = nodesAt(host, parts, parts.size());
    if (nodes.empty())
        throw Poco::NotFoundException("the host schema does not describe " + key);
    KeyFacts facts;
    for (const Object& node : nodes)
    {
        if (facts.fallback.isEmpty() && node->has("default"))
            facts.fallback = node->get("default");
        if (!facts.minimum && node->has("minimum"))
            facts.minimum = node->getValue<double>("minimum");
        if (!facts.maximum && node->has("maximum"))
            facts.maximum = node->getValue<double>("maximum");
    }
    return facts;
}

namespace
{
bool isSecret(const std::vector<Object>& nodes)
{
    for (const Object& node : nodes)
        if (node->has("writeOnly") && node->get("writeOnly").isBoolean() && node->getValue<bool>("writeOnly"))
            return true;
    return false;
}

std::string secretFile(const std::string& key, const std::string& value)
{
    const std::string path = value.substr(5);
    try
    {
        return SecretStore::readSecretFile(path);
    }
    catch (const Poco::Exception&)
    {
        throw Poco::DataException(key + ": cannot read the secret's file " + path +
                                  " (a regular file of at most 64 KiB)");
    }
}

/// Replaces each secret's `file:PATH` in `object` (at `key`, whose schema nodes are `nodes`) by the
/// file's content; a plugin's `config` follows its manifest's schema.
void readSecretFiles(Object object, const SchemaView& schema, const std::vector<Object>& nodes,
                     const std::string& key)
{
    std::vector<std::pair<std::string, std::string>> replaced;
    for (const auto& member : *object)
    {
        const std::string name = key.empty() ? member.first : key + "." + member.first;
        const std::vector<Object> children = schema.child(nodes, member.first);
        if (member.second.type() == typeid(Object))
        {
            const Object inner = member.second.extract<Object>();
            if (member.first == "config" && key.rfind("plugins.", 0) == 0 && std::count(key.begin(), key.end(), '.') == 1)
            {
                Object own;
                try
                {
                    own = pluginSchema(PluginManifest::load(object->getValue<std::string>("manifest")));
                }
                catch (const Poco::Exception&)
                {
                    // No readable manifest: the plugin's own load reports why; its secrets stay as written.
                }
                if (own)
                {
                    const SchemaView view(own);
                    readSecretFiles(inner, view, view.root(), name);
                }
                continue;
            }
            readSecretFiles(inner, schema, children, name);
        }
        else if (member.second.isString() && isSecret(children))
        {
            const std::string value = Poco::trim(member.second.extract<std::string>());
            if (value.rfind("file:", 0) == 0)
                replaced.emplace_back(member.first, secretFile(name, value));
        }
        else if (member.second.type() == typeid(Poco::JSON::Array::Ptr) && isSecret(schema.item(children)))
        {
            // A list of secrets (those being rotated away): each item may be a file of its own.
            Poco::JSON::Array::Ptr items = member.second.extract<Poco::JSON::Array::Ptr>();
            for (std::size_t i = 0; i < items->size(); ++i)
            {
                const std::string value = items->get(i).isString() ? Poco::trim(items->getElement<std::string>(i)) : "";
                if (value.rfind("file:", 0) == 0)
                    items->set(i, secretFile(name + "[" + std::to_string(i) + "]", value));
            }
        }
    }
    for (const auto& [member, value] : replaced)
        object->set(member, value);
}
} // namespace

Poco::JSON::Object::Ptr ConfigValidator::document(const std::string& file,
                                                  const std::vector<std::pair<std::string, std::string>>& defines)
{
    Object document = readObject(file, "configuration file");
    const SchemaView host(hostSchema());
    // Host keys first: they may say which manifest (and so which schema) a plugin's keys follow.
    std::vector<std::pair<std::vector<KeyPart>, std::string>> pluginDefines;
    for (const auto& [key, value] : defines)
    {
        std::vector<KeyPart> parts = splitKey(key);
        if (parts.size() > 3 && parts[0].name == "plugins" && parts[2].name == "config")
        {
            pluginDefines.emplace_back(std::move(parts), value);
            continue;
        }
        setValue(document, parts, typedValue(SchemaView::type(nodesAt(host, parts, parts.size())), value));
    }
    for (const auto& [parts, value] : pluginDefines)
    {
        std::string type;
        try
        {
            Object plugin = document->getObject("plugins")->getObject(parts[1].name);
            const PluginManifest manifest = PluginManifest::load(plugin->getValue<std::string>("manifest"));
            const std::vector<KeyPart> inner(parts.begin() + 3, parts.end());
            if (Object schema = pluginSchema(manifest))
                type = SchemaView::type(nodesAt(SchemaView(schema), inner, inner.size()));
        }
        catch (...)
        {
            // No readable manifest: the value stays text, and the plugin's own load reports why.
        }
        setValue(document, parts, typedValue(type, value));
    }
    readSecretFiles(document, host, host.root(), "");
    return document;
}

std::vector<std::pair<std::string, std::string>> ConfigValidator::environmentDefines(const char* const* environment)
{
    std::map<std::string, std::pair<std::string, std::string>> byName;
    for (const char* const* entry = environment; entry && *entry; ++entry)
    {
        const std::string variable(*entry);
        const auto equals = variable.find('=');
        const std::string prefix = "IDENTITY_";
        if (equals == std::string::npos || variable.compare(0, prefix.size(), prefix) != 0)
            continue;
        const std::string name = variable.substr(0, equals);
        const std::string path = name.substr(prefix.size());
        if (path.find("__") == std::string::npos)
            continue;
        std::string key;
        std::size_t start = 0;
        while (start <= path.size())
        {
            const auto end = path.find("__", start);
            const std::string part = Poco::toLower(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
            unsigned index = 0;
            if (!key.empty() && !part.empty() && Poco::NumberParser::tryParseUnsigned(part, index) &&
                part.find_first_not_of("0123456789") == std::string::npos)
                key += "[" + part + "]";
            else
                key += (key.empty() ? "" : ".") + part;
            if (end == std::string::npos)
                break;
            start = end + 2;
        }
        byName[name] = {key, variable.substr(equals + 1)};
    }
    std::vector<std::pair<std::string, std::string>> defines;
    for (const auto& entry : byName)
        defines.push_back(entry.second);
    return defines;
}

std::vector<ConfigValidator::Problem> ConfigValidator::check(const Poco::JSON::Object::Ptr& document)
{
    std::vector<Problem> problems;
    validate(hostSchema(), document, "", problems);
    Object plugins = document->getObject("plugins");
    if (!plugins)
        return problems;
    for (const auto& member : *plugins)
    {
        if (member.second.type() != typeid(Object))
            continue; // the host schema said so already
        const Object plugin = member.second.extract<Object>();
        if (plugin->has("enabled") && plugin->get("enabled").isBoolean() && !plugin->getValue<bool>("enabled"))
            continue;
        if (!plugin->has("manifest") || !plugin->get("manifest").isString())
            continue;
        PluginManifest manifest;
        try
        {
            manifest = PluginManifest::load(plugin->getValue<std::string>("manifest"));
        }
        catch (const Poco::Exception&)
        {
            // A plugin whose manifest cannot be read fails to load and is reported; the host still starts.
            continue;
        }
        Object schema;
        try
        {
            schema = pluginSchema(manifest);
        }
        catch (const Poco::Exception& error)
        {
            problems.push_back({"plugins." + member.first, "its config_schema cannot be read: " + error.message()});
            continue;
        }
        if (!schema)
            continue;
        const Object config = plugin->isObject("config") ? plugin->getObject("config") : Object(new Poco::JSON::Object);
        validate(schema, layered(manifest.defaultConfig, config), "plugins." + member.first + ".config", problems);
    }
    return problems;
}

void ConfigValidator::require(const Poco::JSON::Object::Ptr& document)
{
    const std::vector<Problem> problems = check(document);
    if (problems.empty())
        return;
    std::string text = "invalid configuration: ";
    for (std::size_t i = 0; i < problems.size(); ++i)
        text += (i ? "; " : "") + problems[i].text();
    throw Poco::DataException(text);
}

} // namespace identity::host
