#include "notifiers/EncodedWord.h"
#include "templates/MessageTemplates.h"

#include <Poco/AutoPtr.h>
#include <Poco/Base64Decoder.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/StreamCopier.h>
#include <Poco/UTF8Encoding.h>

#include <cppunit/extensions/HelperMacros.h>

#include <regex>
#include <sstream>

using namespace identity::reauth;

namespace
{
std::string decodeBase64(const std::string& text)
{
    std::istringstream in(text);
    Poco::Base64Decoder decoder(in);
    std::string out;
    Poco::StreamCopier::copyToString(decoder, out);
    return out;
}

bool validUtf8(const std::string& text)
{
    Poco::UTF8Encoding utf8;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end)
    {
        const int n = utf8.sequenceLength(p, static_cast<int>(end - p));
        if (n <= 0 || p + n > end || utf8.queryConvert(p, n) < 0)
            return false;
        p += n;
    }
    return true;
}
} // namespace

class EncodedWordTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(EncodedWordTest);
    CPPUNIT_TEST(testAsciiSubjectIsLeftAlone);
    CPPUNIT_TEST(testChineseSubjectDecodesIntactWithoutSplitCharacters);
    CPPUNIT_TEST(testLineBreaksCannotInjectHeaders);
    CPPUNIT_TEST(testTemplatesCarryCodeMinutesAndProduct);
    CPPUNIT_TEST(testOperatorTemplateFilesReplaceTheBuiltInOnes);
    CPPUNIT_TEST_SUITE_END();

public:
    void testAsciiSubjectIsLeftAlone()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("Your Identity verification code"),
                             encodeHeaderWord("Your Identity verification code"));
    }

    void testChineseSubjectDecodesIntactWithoutSplitCharacters()
    {
        const std::string subject = "您的身份认证服务验证码,请在五分钟内使用,不要告诉任何人,谢谢您的配合";
        const std::string encoded = encodeHeaderWord(subject);
        std::regex word("=\\?UTF-8\\?B\\?([A-Za-z0-9+/=]+)\\?=");
        std::string decoded;
        int words = 0;
        for (std::sregex_iterator it(encoded.begin(), encoded.end(), word), end; it != end; ++it)
        {
            CPPUNIT_ASSERT(it->str().size() <= 75); // RFC 2047's limit for one encoded word
            const std::string chunk = decodeBase64((*it)[1]);
            CPPUNIT_ASSERT_MESSAGE("each encoded word holds whole characters", validUtf8(chunk));
            decoded += chunk;
            ++words;
        }
        CPPUNIT_ASSERT(words > 1);
        CPPUNIT_ASSERT_EQUAL(subject, decoded);
    }

    void testLineBreaksCannotInjectHeaders()
    {
        const std::string encoded = encodeHeaderWord("Hello\r\nBcc: victim@example.com");
        CPPUNIT_ASSERT(encoded.find('\r') == std::string::npos);
        CPPUNIT_ASSERT(encoded.find('\n') == std::string::npos);
    }

    void testTemplatesCarryCodeMinutesAndProduct()
    {
        MessageTemplates templates("Acme");
        const auto email = templates.render("email", "en", "012345", 5);
        CPPUNIT_ASSERT(email.subject.find("Acme") != std::string::npos);
        CPPUNIT_ASSERT(email.text.find("012345") != std::string::npos);
        CPPUNIT_ASSERT(email.text.find("5 minutes") != std::string::npos);
        CPPUNIT_ASSERT(email.html.find("012345") != std::string::npos);
        CPPUNIT_ASSERT(email.subject.find("012345") == std::string::npos); // codes stay out of headers
        const auto sms = templates.render("sms", "zh", "012345", 5);
        CPPUNIT_ASSERT(sms.text.find("验证码") != std::string::npos);
        CPPUNIT_ASSERT(sms.text.find("012345") != std::string::npos);
        CPPUNIT_ASSERT(sms.text.find("5 分钟") != std::string::npos);
        CPPUNIT_ASSERT(templates.render("email", "zh", "012345", 5).subject.find("验证码") != std::string::npos);
    }
    void testOperatorTemplateFilesReplaceTheBuiltInOnes()
    {
        const std::string folder = Poco::TemporaryFile::tempName();
        Poco::File(folder).createDirectories();
        auto write = [&](const std::string& name, const std::string& text) {
            Poco::FileOutputStream out(folder + "/" + name);
            out << text;
            return folder + "/" + name;
        };
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("templates.sms.zh", write("sms.zh", "【{product}】验证码 {code},{minutes} 分钟有效"));
        config->setString("templates.email.en.subject", write("subject.en", "Sign-in check for {product}"));
        MessageTemplates templates("Acme", *config);
        CPPUNIT_ASSERT_EQUAL(std::string("【Acme】验证码 012345,5 分钟有效"), templates.render("sms", "zh", "012345", 5).text);
        CPPUNIT_ASSERT_EQUAL(std::string("Sign-in check for Acme"), templates.render("email", "en", "012345", 5).subject);
        CPPUNIT_ASSERT(templates.render("sms", "en", "012345", 5).text.find("[Acme]") == 0); // the rest stay built in

        config->setString("templates.sms.en", write("sms.en", "no placeholder here"));
        CPPUNIT_ASSERT_THROW(MessageTemplates("Acme", *config), Poco::DataException);
        Poco::File(folder).remove(true);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(EncodedWordTest, "EncodedWordTest");
