package io.mailbridge.pop3.record;

import static io.mailbridge.pop3.record.MessageSchema.FIELD_ATTACHMENTS;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_DATE;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_HEADERS;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_HTML;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_MESSAGE_ID;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_PARSE_ERROR;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_RAW;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_SUBJECT;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_TEXT;
import static io.mailbridge.pop3.record.MessageSchema.FIELD_TRUNCATED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailbridge.pop3.config.AttachmentMode;
import org.apache.kafka.connect.data.Struct;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;

class MessageMapperTest {

    private static final byte[] PNG = Base64.getDecoder().decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
    private static final byte[] PDF = ("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
            + "trailer << /Root 1 0 R >>\n%%EOF\n").getBytes(StandardCharsets.US_ASCII);

    private final MessageMapper metadata = new MessageMapper(AttachmentMode.METADATA, false);

    // ---- subjects, charsets and encodings -------------------------------------------------

    @Test
    void decodesUtf8BSubjectWhoseCharacterIsSplitAcrossFoldedWords() {
        byte[] eml = fixture("subject-utf8-b.eml");
        Struct value = map("subject-utf8-b.eml");

        assertEquals("mailbox-1", value.getString("mailbox"));
        assertEquals("uid-1", value.getString("uid"));
        assertEquals((long) eml.length, value.getInt64("size"));
        assertEquals("Grüße aus Köln ☕", value.getString(FIELD_SUBJECT));
        assertEquals("<utf8-b-1@example.de>", value.getString(FIELD_MESSAGE_ID));
        assertEquals("2024-03-01T10:15:30+01:00", value.getString(FIELD_DATE));
        assertEquals(List.of("Anna Müller <anna@example.de>"), addresses(value, "from"));
        assertEquals(List.of("Bob <bob@example.org>"), addresses(value, "to"));
        assertEquals("Hallo Bob,\r\n\r\nviele Grüße aus Köln!\r\n\r\nAnna\r\n", value.getString(FIELD_TEXT));
        assertNull(value.getString(FIELD_HTML));
        assertTrue(attachments(value).isEmpty());
        assertClean(value);
    }

    @Test
    void decodesIso88591QSubjectAndQuotedPrintableBody() {
        Struct value = map("subject-iso8859-1-q.eml");

        assertEquals("Café crème à la française", value.getString(FIELD_SUBJECT));
        assertEquals(List.of("José García <jose@example.es>"), addresses(value, "from"));
        assertEquals("2024-03-02T08:00:00-05:00", value.getString(FIELD_DATE));
        assertEquals("Un café crème, s'il vous plaît. Cette ligne est très longue et doit être coupée.\r\n",
                value.getString(FIELD_TEXT));
        assertClean(value);
    }

    @Test
    void decodesIso2022JpSubjectAndBody() {
        Struct value = map("subject-iso2022jp.eml");

        assertEquals("日本語のテスト", value.getString(FIELD_SUBJECT));
        assertEquals(List.of("山田太郎 <taro@example.jp>"), addresses(value, "from"));
        assertEquals("2024-03-03T09:30:00+09:00", value.getString(FIELD_DATE));
        assertEquals("こんにちは、世界。\r\n", value.getString(FIELD_TEXT));
        assertClean(value);
    }

    @Test
    void decodesWindows1252SubjectAndBody() {
        Struct value = map("subject-windows1252.eml");

        assertEquals("“Smart” quotes cost 5 €", value.getString(FIELD_SUBJECT));
        assertEquals("It’s “fine” – costs 5 €.\r\n", value.getString(FIELD_TEXT));
        assertEquals("2024-03-04T12:00:00+00:00", value.getString(FIELD_DATE));
        assertClean(value);
    }

    @Test
    void decodesRawUtf8HeadersAndKeepsRawLatin1Headers() {
        Struct value = map("raw-8bit-headers.eml");

        assertEquals("Smörgåsbord på fredag", value.getString(FIELD_SUBJECT));
        assertEquals(List.of("Zoë Ångström <zoe@example.se>"), addresses(value, "from"));
        assertEquals("Grüße", header(value, "X-Legacy"));
        assertEquals("Hej!\r\n", value.getString(FIELD_TEXT));
        assertClean(value);
    }

    // ---- which part is the body -----------------------------------------------------------

    @Test
    void picksPlainAlternativeAsTextAndHtmlAlternativeAsHtml() {
        Struct value = map("alternative.eml");

        assertEquals("Lunch at noon?\r\n", value.getString(FIELD_TEXT));
        assertEquals("<div dir=\"ltr\">Lunch at <b>noon</b>?</div>\r\n", value.getString(FIELD_HTML));
        assertTrue(attachments(value).isEmpty(), "both alternatives are the body");
        assertClean(value);
    }

    @Test
    void findsBodiesInNestedMixedAlternativeRelatedAndKeepsInlineImageAsAttachment() {
        Struct value = map("mixed-alternative-related.eml");

        assertEquals("Please find the report attached.\r\n", value.getString(FIELD_TEXT));
        assertEquals("<html><body><img src=\"cid:logo@example.net\"><p>Please find the report attached.</p>"
                + "</body></html>\r\n", value.getString(FIELD_HTML));
        assertEquals(List.of("Erin <erin@example.net>"), addresses(value, "cc"));

        List<Struct> attachments = attachments(value);
        assertEquals(2, attachments.size());
        assertAttachment(attachments.get(0), "logo.png", "image/png", "inline", "<logo@example.net>", PNG.length);
        assertAttachment(attachments.get(1), "report.pdf", "application/pdf", "attachment", null, PDF.length);
        assertNull(attachments.get(0).getBytes("content"), "metadata mode carries no content");
        assertClean(value);
    }

    @Test
    void htmlOnlyMailHasHtmlAndNoText() {
        Struct value = map("html-only.eml");

        assertNull(value.getString(FIELD_TEXT));
        assertEquals("<html><body><h1>Spring sale</h1><p>Everything €5</p></body></html>\r\n",
                value.getString(FIELD_HTML));
        assertEquals("Spring sale 🌸", value.getString(FIELD_SUBJECT));
        assertTrue(attachments(value).isEmpty());
        assertClean(value);
    }

    @Test
    void textPartWithAttachmentDispositionIsNotChosenAsText() {
        Struct value = map("text-attachment-disposition.eml");

        assertEquals("The log is attached.", value.getString(FIELD_TEXT));
        assertEquals("<p>The log is attached.</p>", value.getString(FIELD_HTML));
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        assertAttachment(attachments.get(0), "server.log", "text/plain", "attachment", null,
                "ERROR something failed".length());
        assertClean(value);
    }

    @Test
    void secondTextPartOfMixedIsAnAttachment() {
        Struct value = map("mixed-two-texts.eml");

        assertEquals("The message.", value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        assertAttachment(attachments.get(0), null, "text/plain", "inline", null,
                "_______________________________________________\r\nlist mailing list".length());
        assertClean(value);
    }

    @Test
    void relatedStartParameterChoosesTheRootPart() {
        // CPython's _find_body looks only at the root of a multipart/related: the part whose
        // Content-ID equals the start parameter (here the second), the others are attachments.
        Struct value = map("related-start.eml");

        assertEquals("<p>The root.</p>", value.getString(FIELD_HTML));
        assertNull(value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(2, attachments.size());
        assertAttachment(attachments.get(0), null, "text/html", null, "<fragment@example.org>",
                "<p>Not the root.</p>".length());
        assertAttachment(attachments.get(1), null, "image/png", null, "<img@example.org>", PNG.length);
        assertClean(value);
    }

    @Test
    void attachedMessageIsOneAttachmentAndIsNotEntered() {
        byte[] eml = fixture("attached-message.eml");
        Struct value = map("attached-message.eml");

        assertEquals("See the forwarded message.", value.getString(FIELD_TEXT));
        assertNull(value.getString(FIELD_HTML), "the inner message's html is not the body");
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        String text = new String(eml, StandardCharsets.US_ASCII);
        int innerStart = text.indexOf("From: Hank");
        int innerEnd = text.indexOf("--inner--\r\n") + "--inner--\r\n".length();
        assertAttachment(attachments.get(0), null, "message/rfc822", "inline", null, innerEnd - innerStart);
        assertClean(value);
    }

    @Test
    void wholeMessageOfOneNonTextPartIsAnAttachment() {
        Struct value = map("single-part-pdf.eml");

        assertNull(value.getString(FIELD_TEXT));
        assertNull(value.getString(FIELD_HTML));
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        assertAttachment(attachments.get(0), "scan.pdf", "application/pdf", "attachment", null, PDF.length);
        assertClean(value);
    }

    @Test
    void partWithoutContentTypeInDigestIsAMessage() {
        String eml = "Content-Type: multipart/digest; boundary=d\r\n\r\n"
                + "--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n"
                + "--d--\r\n";
        Struct value = mapBytes(metadata, eml.getBytes(StandardCharsets.US_ASCII), false);

        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        assertEquals("message/rfc822", attachments.get(0).getString("content_type"));
        assertNull(value.getString(FIELD_TEXT));
        assertClean(value);
    }

    // ---- attachment names ----------------------------------------------------------------

    @Test
    void decodesNonAsciiAttachmentNamesFromRfc2231AndRfc2047() {
        Struct value = map("attachment-names.eml");

        assertEquals("Anbei die Rechnungen.", value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(3, attachments.size());
        assertAttachment(attachments.get(0), "€ Rechnung März.pdf", "application/pdf", "attachment", null,
                PDF.length);
        assertAttachment(attachments.get(1), "Übersicht 2024.pdf", "application/pdf", "attachment", null,
                PDF.length);
        assertAttachment(attachments.get(2), "€ Rechnung März.csv", "text/csv", "attachment", null,
                "a;b\r\n1;2".length());
        assertClean(value);
    }

    @Test
    void unquotedFileNameWithSpacesIsStillFound() {
        String eml = "Content-Type: multipart/mixed; boundary=u\r\n\r\n"
                + "--u\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
                + "--u\r\nContent-Type: application/octet-stream\r\n"
                + "Content-Disposition: attachment; filename=my report.bin\r\n\r\nxyz\r\n"
                + "--u--\r\n";
        Struct value = mapBytes(metadata, eml.getBytes(StandardCharsets.US_ASCII), false);

        assertEquals("my report.bin", attachments(value).get(0).getString("filename"));
    }

    // ---- headers, dates, addresses --------------------------------------------------------

    @Test
    void missingDateAndMessageIdAreNull() {
        Struct value = map("no-date-no-message-id.eml");

        assertNull(value.getString(FIELD_DATE));
        assertNull(value.getString(FIELD_MESSAGE_ID));
        assertEquals("cron output", value.getString(FIELD_SUBJECT));
        assertEquals(List.of("script@example.org"), addresses(value, "from"));
        assertEquals("done\r\n", value.getString(FIELD_TEXT));
        assertClean(value);
    }

    @Test
    void obsoleteDateIsRenderedWithItsOffset() {
        Struct value = map("obsolete-date.eml");

        assertEquals("1996-03-01T23:59:00-05:00", value.getString(FIELD_DATE));
        assertEquals("1 Mar 96 23:59 EST (Eastern Standard Time)", header(value, "Date"));
        assertClean(value);
    }

    @Test
    void flattensGroupsAndTreatsEmptyAddressAsNoAddress() {
        Struct value = map("address-groups.eml");

        assertEquals(List.of(), addresses(value, "from"));
        assertEquals(List.of("Mailing List <list-bounces@lists.example.org>"), addresses(value, "sender"));
        assertEquals(List.of("list@lists.example.org", "Ivy (moderator) <ivy@example.org>"),
                addresses(value, "reply_to"));
        assertEquals(List.of("alice@example.org", "Björn <bjorn@example.org>", "carl@example.org"),
                addresses(value, "to"));
        assertEquals(List.of(), addresses(value, "cc"));
        assertEquals(List.of(), addresses(value, "bcc"));
        assertClean(value);
    }

    @Test
    void replyToComesOnlyFromTheReplyToHeader() {
        Struct value = map("alternative.eml");

        assertEquals(List.of("Carol <carol@gmail.example>"), addresses(value, "from"));
        assertEquals(List.of(), addresses(value, "reply_to"));
        assertEquals(List.of(), addresses(value, "sender"));
    }

    @Test
    void keepsEveryHeaderInOrderUnfoldedAndDecoded() {
        Struct value = map("subject-utf8-b.eml");

        List<String> names = new ArrayList<>();
        for (Struct header : value.<Struct>getArray(FIELD_HEADERS)) {
            names.add(header.getString("name"));
        }
        assertEquals(List.of("Return-Path", "Received", "From", "To", "Subject", "Date", "Message-ID",
                "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "User-Agent"), names);
        assertEquals("from mail.example.de (mail.example.de [192.0.2.10])\tby mx.example.org with ESMTPS id 4Xyz"
                + "\tfor <bob@example.org>; Fri, 01 Mar 2024 10:15:31 +0100", header(value, "Received"));
        assertEquals("Grüße aus Köln ☕", header(value, "Subject"));
        assertEquals("Anna Müller <anna@example.de>", header(value, "From"));
    }

    // ---- broken MIME: parse_error and raw -------------------------------------------------

    @Test
    void missingEndBoundaryYieldsParseErrorAndRaw() {
        Struct value = map("missing-end-boundary.eml");

        assertParseError(value, "missing-end-boundary.eml", "multipart boundary never closes");
        assertEquals("The body text.", value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        assertAttachment(attachments.get(0), "pixel.png", "image/png", "attachment", null, PNG.length);
    }

    @Test
    void boundaryThatNeverAppearsYieldsParseErrorAndKeepsTheMultipartAsOneAttachment() {
        // Like CPython (StartBoundaryNotFoundDefect), no part is found, so there is no body.
        byte[] eml = fixture("boundary-never-appears.eml");
        Struct value = map("boundary-never-appears.eml");

        assertParseError(value, "boundary-never-appears.eml", "multipart boundary never appears");
        assertNull(value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        String text = new String(eml, StandardCharsets.US_ASCII);
        int bodyStart = text.indexOf("\r\n\r\n") + 4;
        assertAttachment(attachments.get(0), null, "multipart/mixed", null, null, eml.length - bodyStart);
    }

    @Test
    void missingBoundaryParameterYieldsParseErrorAndGuessesTheBoundary() {
        // CPython gives up on such a multipart (NoBoundaryInMultipartDefect) and finds no body;
        // we decode as leniently as we can: Angus takes the first "--" line as the boundary.
        Struct value = map("missing-boundary-parameter.eml");

        assertParseError(value, "missing-boundary-parameter.eml", "multipart without boundary parameter");
        assertEquals("Text of a multipart without boundary parameter.", value.getString(FIELD_TEXT));
    }

    @Test
    void badBase64YieldsParseErrorAndLenientContent() {
        Struct value = map("bad-base64.eml");

        assertParseError(value, "bad-base64.eml", "bad base64 in text/plain part");
        assertEquals("Hello, World!", value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        assertAttachment(attachments.get(0), "data.bin", "application/octet-stream", "attachment", null, 30);
    }

    @Test
    void unknownCharsetYieldsParseErrorAndLenientText() {
        Struct value = map("unknown-charset.eml");

        assertParseError(value, "unknown-charset.eml", "unknown charset x-klingon");
        assertEquals("Grüße in an unknown charset.\r\n", value.getString(FIELD_TEXT));
    }

    @Test
    void headerLineWithoutColonStartsTheBodySoNoTextIsLost() {
        // As CPython (MissingHeaderBodySeparatorDefect): the line and everything after it is body.
        Struct value = map("header-without-colon.eml");

        assertParseError(value, "header-without-colon.eml", "header line without colon");
        assertEquals("header without colon", value.getString(FIELD_SUBJECT));
        assertEquals(List.of("broken@example.org"), addresses(value, "from"));
        assertEquals(3, value.<Struct>getArray(FIELD_HEADERS).size());
        assertNull(value.getString(FIELD_DATE));
        assertNull(value.getString(FIELD_MESSAGE_ID));
        assertEquals("This line is not a header\r\nDate: Sun, 10 Mar 2024 10:00:00 +0100\r\n"
                + "Message-ID: <nocolon@example.org>\r\n\r\nBody after a bad header.\r\n",
                value.getString(FIELD_TEXT));
    }

    @Test
    void messageThatStartsWithTextFoldedLikeAHeaderKeepsItsFirstLines() {
        // A plain-text digest in the manner of CPython's test_email msg_19.txt: no header section,
        // and its first line is followed by an indented one, as a folded header would be.
        byte[] eml = fixture("digest-without-header-section.eml");
        Struct value = map("digest-without-header-section.eml");

        assertParseError(value, "digest-without-header-section.eml", "header line without colon");
        assertTrue(value.<Struct>getArray(FIELD_HEADERS).isEmpty());
        assertNull(value.getString(FIELD_SUBJECT));
        assertEquals(new String(eml, StandardCharsets.US_ASCII), value.getString(FIELD_TEXT));
        assertTrue(value.getString(FIELD_TEXT).startsWith(
                "Send Widgets-users mailing list submissions to\r\n\twidgets-users@lists.example.org\r\n"));
    }

    @Test
    void partThatStartsWithTextFoldedLikeAHeaderKeepsItsFirstLines() {
        // Same as CPython's get_body(): the part's own Content-Type is kept, the text after it is body.
        Struct value = map("digest-part-without-separator.eml");

        assertParseError(value, "digest-part-without-separator.eml", "header line without colon");
        assertEquals("Widgets-users Digest, Vol 3, Issue 7", value.getString(FIELD_SUBJECT));
        assertEquals("Send Widgets-users mailing list submissions to\r\n\twidgets-users@lists.example.org\r\n"
                + "\r\nToday's Topics:\r\n\r\n   1. Re: gear ratio (Carol Example)\r\n",
                value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(1, attachments.size());
        assertAttachment(attachments.get(0), "topic-1.txt", "text/plain", "attachment", null, 18);
    }

    @Test
    void emptyAddressHeadersGiveNoAddresses() {
        // CPython gives no address for the empty From and for ",", and one empty address for "" and <>; the
        // contract (DESIGN.md) says an empty array for each.
        Struct value = map("empty-address-headers.eml");

        assertEquals(List.of(), addresses(value, "from"));
        assertEquals(List.of(), addresses(value, "sender"));
        assertEquals(List.of(), addresses(value, "reply_to"));
        assertEquals(List.of(), addresses(value, "cc"));
        assertEquals(List.of("Frank <frank@example.org>"), addresses(value, "to"));
        assertEquals("Nobody sent this.\r\n", value.getString(FIELD_TEXT));
        assertClean(value);
    }

    @Test
    void unknownTransferEncodingYieldsParseErrorAndRawContent() {
        String eml = "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-rot13\r\n\r\nhello\r\n";
        Struct value = mapBytes(metadata, eml.getBytes(StandardCharsets.US_ASCII), false);

        assertEquals("unknown transfer encoding x-rot13", value.getString(FIELD_PARSE_ERROR));
        assertEquals("hello\r\n", value.getString(FIELD_TEXT));
        assertNotNull(value.getBytes(FIELD_RAW));
    }

    @Test
    void partHeaderLineWithoutColonYieldsParseErrorAndStartsThePartBody() {
        String eml = "Content-Type: multipart/mixed; boundary=p\r\n\r\n"
                + "--p\r\nContent-Type: text/plain\r\nnot a header\r\n\r\nbody\r\n--p--\r\n";
        Struct value = mapBytes(metadata, eml.getBytes(StandardCharsets.US_ASCII), false);

        assertEquals("header line without colon", value.getString(FIELD_PARSE_ERROR));
        assertEquals("not a header\r\n\r\nbody", value.getString(FIELD_TEXT));
    }

    @Test
    void hostileNestingDepthIsAParseErrorNotAStackOverflow() {
        StringBuilder eml = new StringBuilder();
        int depth = 5 * MimeBody.MAX_DEPTH;
        eml.append("Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
        for (int i = 1; i < depth; i++) {
            eml.append("--b").append(i - 1).append("\r\nContent-Type: multipart/mixed; boundary=b").append(i)
                    .append("\r\n\r\n");
        }
        eml.append("--b").append(depth - 1).append("\r\n\r\ndeep\r\n");
        Struct value = mapBytes(metadata, eml.toString().getBytes(StandardCharsets.US_ASCII), false);

        assertNotNull(value.getString(FIELD_PARSE_ERROR));
        assertNotNull(value.getBytes(FIELD_RAW));
    }

    // ---- modes, raw, truncation, robustness ----------------------------------------------

    @Test
    void inlineModeCarriesDecodedContent() {
        Struct value = mapBytes(new MessageMapper(AttachmentMode.INLINE, false),
                fixture("mixed-alternative-related.eml"), false);

        List<Struct> attachments = attachments(value);
        assertArrayEquals(PNG, attachments.get(0).getBytes("content"));
        assertArrayEquals(PDF, attachments.get(1).getBytes("content"));
    }

    @Test
    void inlineContentOfAnIdentityEncodedPartIsACopy() {
        byte[] eml = fixture("text-attachment-disposition.eml");
        Struct value = mapBytes(new MessageMapper(AttachmentMode.INLINE, false), eml, false);

        byte[] content = attachments(value).get(0).getBytes("content");
        assertArrayEquals("ERROR something failed".getBytes(StandardCharsets.US_ASCII), content);
        Arrays.fill(eml, (byte) 'x');
        assertArrayEquals("ERROR something failed".getBytes(StandardCharsets.US_ASCII), content);
    }

    @Test
    void noneModeOmitsAttachmentsButKeepsTheBody() {
        Struct value = mapBytes(new MessageMapper(AttachmentMode.NONE, false),
                fixture("mixed-alternative-related.eml"), false);

        assertTrue(attachments(value).isEmpty());
        assertEquals("Please find the report attached.\r\n", value.getString(FIELD_TEXT));
        assertNotNull(value.getString(FIELD_HTML));
    }

    @Test
    void includeRawCopiesOnlyTheMessageBytes() {
        byte[] eml = fixture("alternative.eml");
        byte[] buffer = Arrays.copyOf(eml, eml.length + 100);
        Arrays.fill(buffer, eml.length, buffer.length, (byte) '#');
        Struct value = new MessageMapper(AttachmentMode.METADATA, true)
                .map("mailbox-1", "uid-1", buffer, eml.length, eml.length, false);
        value.validate();

        assertArrayEquals(eml, value.getBytes(FIELD_RAW));
        Arrays.fill(buffer, (byte) 0);
        assertArrayEquals(eml, value.getBytes(FIELD_RAW), "the record owns its copy");
        assertEquals("Lunch at noon?\r\n", value.getString(FIELD_TEXT));
        assertNull(value.getString(FIELD_PARSE_ERROR));
    }

    @Test
    void cutMultipartIsNotAParseErrorWhenTruncated() {
        byte[] eml = fixture("mixed-alternative-related.eml");
        int cut = new String(eml, StandardCharsets.US_ASCII).indexOf("JVBERi0x") + 6; // inside the pdf's base64
        Struct value = new MessageMapper(AttachmentMode.INLINE, false)
                .map("mailbox-1", "uid-1", eml, cut, eml.length, true);
        value.validate();

        assertTrue(value.getBoolean(FIELD_TRUNCATED));
        assertNull(value.getString(FIELD_PARSE_ERROR));
        assertNull(value.getBytes(FIELD_RAW));
        assertEquals((long) eml.length, value.getInt64("size"));
        assertEquals("Please find the report attached.\r\n", value.getString(FIELD_TEXT));
        List<Struct> attachments = attachments(value);
        assertEquals(2, attachments.size());
        for (Struct attachment : attachments) {
            assertNull(attachment.getBytes("content"), "a truncated record drops attachment content");
        }
        assertEquals(PNG.length, attachments.get(0).getInt64("size"));
    }

    @Test
    void cutAnywhereIsNotAParseErrorWhenTruncated() {
        for (String name : List.of("mixed-alternative-related.eml", "attached-message.eml",
                "attachment-names.eml", "subject-iso8859-1-q.eml", "related-start.eml")) {
            byte[] eml = fixture(name);
            for (int cut = 0; cut <= eml.length; cut++) {
                Struct value = metadata.map("mailbox-1", "uid-1", eml, cut, eml.length, true);
                value.validate();
                assertNull(value.getString(FIELD_PARSE_ERROR), name + " cut at " + cut);
                assertTrue(value.getBoolean(FIELD_TRUNCATED));
            }
        }
    }

    @Test
    void truncatedMessageStillReportsProblemsTheCutDidNotCause() {
        byte[] eml = fixture("unknown-charset.eml");
        Struct value = metadata.map("mailbox-1", "uid-1", eml, eml.length - 5, eml.length, true);

        assertEquals("unknown charset x-klingon", value.getString(FIELD_PARSE_ERROR));
        assertNotNull(value.getBytes(FIELD_RAW));
    }

    @Test
    void headersOnlyRecordHasNoBodyAndIsTruncated() {
        byte[] eml = fixture("mixed-alternative-related.eml");
        int headerEnd = new String(eml, StandardCharsets.US_ASCII).indexOf("\r\n\r\n") + 4;
        byte[] top = Arrays.copyOf(eml, headerEnd);
        Struct value = metadata.mapHeadersOnly("mailbox-1", "uid-1", top, top.length, 123_456L);
        value.validate();

        assertEquals("Report with logo", value.getString(FIELD_SUBJECT));
        assertEquals("2024-03-06T16:20:00+01:00", value.getString(FIELD_DATE));
        assertEquals(List.of("Dana <dana@example.net>"), addresses(value, "from"));
        assertEquals(123_456L, value.getInt64("size"));
        assertTrue(value.getBoolean(FIELD_TRUNCATED));
        assertNull(value.getString(FIELD_TEXT));
        assertNull(value.getString(FIELD_HTML));
        assertTrue(attachments(value).isEmpty());
        assertNull(value.getString(FIELD_PARSE_ERROR));
        assertNull(value.getBytes(FIELD_RAW));

        Struct withRaw = new MessageMapper(AttachmentMode.METADATA, true)
                .mapHeadersOnly("mailbox-1", "uid-1", top, top.length, 123_456L);
        assertArrayEquals(top, withRaw.getBytes(FIELD_RAW));
    }

    @Test
    void headersOnlyRecordReportsBadHeaders() {
        byte[] top = "Subject: x\r\nnot a header\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        Struct value = metadata.mapHeadersOnly("mailbox-1", "uid-1", top, top.length, 99L);

        assertEquals("header line without colon", value.getString(FIELD_PARSE_ERROR));
        assertArrayEquals(top, value.getBytes(FIELD_RAW));
    }

    @Test
    void neverThrowsOnAnyPrefixOfAnyFixture() throws IOException {
        for (String name : fixtureNames()) {
            byte[] eml = fixture(name);
            for (int length = 0; length <= eml.length; length++) {
                metadata.map("mailbox-1", "uid-1", eml, length, eml.length, false).validate();
            }
        }
    }

    @Test
    void neverThrowsOnGarbage() {
        Random random = new Random(42);
        List<byte[]> inputs = new ArrayList<>();
        inputs.add(new byte[0]);
        inputs.add("\r\n".getBytes(StandardCharsets.US_ASCII));
        inputs.add(" leading continuation\r\nSubject: x\r\n\r\nbody".getBytes(StandardCharsets.US_ASCII));
        inputs.add(":\r\n: \r\nContent-Type: multipart/\r\n\r\n--".getBytes(StandardCharsets.US_ASCII));
        inputs.add("Content-Type: multipart/mixed; boundary=\"\r\n\r\n--\r\n".getBytes(StandardCharsets.US_ASCII));
        inputs.add("Content-Type: text/plain; charset=\"\"\"\r\n\r\nx".getBytes(StandardCharsets.US_ASCII));
        inputs.add("Content-Type: text/plain; charset=ut f-8\r\n\r\nx".getBytes(StandardCharsets.US_ASCII));
        inputs.add("From: \"unclosed <a@b\r\nTo: <<<>>>,,,;;;:\r\nDate: ,,,\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 300; i++) {
            byte[] bytes = new byte[random.nextInt(600)];
            random.nextBytes(bytes);
            inputs.add(bytes);
        }
        MessageMapper inline = new MessageMapper(AttachmentMode.INLINE, false);
        for (byte[] input : inputs) {
            Struct value = inline.map("mailbox-1", "uid-1", input, input.length, input.length, false);
            value.validate();
            if (value.getString(FIELD_PARSE_ERROR) != null) {
                assertNotNull(value.getBytes(FIELD_RAW));
            }
        }
    }

    @Test
    void rejectsProgrammingErrors() {
        byte[] eml = fixture("alternative.eml");
        assertThrows(IndexOutOfBoundsException.class,
                () -> metadata.map("mailbox-1", "uid-1", eml, eml.length + 1, eml.length, false));
        assertThrows(NullPointerException.class,
                () -> metadata.map(null, "uid-1", eml, eml.length, eml.length, false));
        assertThrows(NullPointerException.class, () -> new MessageMapper(null, false));
    }

    // ---- helpers ---------------------------------------------------------------------------

    private Struct map(String name) {
        return mapBytes(metadata, fixture(name), false);
    }

    private static Struct mapBytes(MessageMapper mapper, byte[] eml, boolean truncated) {
        Struct value = mapper.map("mailbox-1", "uid-1", eml, eml.length, eml.length, truncated);
        value.validate();
        return value;
    }

    private static void assertClean(Struct value) {
        assertNull(value.getString(FIELD_PARSE_ERROR));
        assertNull(value.getBytes(FIELD_RAW));
        assertFalse(value.getBoolean(FIELD_TRUNCATED));
    }

    private static void assertParseError(Struct value, String fixture, String reason) {
        assertEquals(reason, value.getString(FIELD_PARSE_ERROR));
        assertArrayEquals(fixture(fixture), value.getBytes(FIELD_RAW), "raw is always set with parse_error");
        assertFalse(value.getBoolean(FIELD_TRUNCATED));
    }

    private static void assertAttachment(Struct attachment, String filename, String contentType,
                                         String disposition, String contentId, long size) {
        assertEquals(filename, attachment.getString("filename"), "filename");
        assertEquals(contentType, attachment.getString("content_type"), "content_type");
        assertEquals(disposition, attachment.getString("disposition"), "disposition");
        assertEquals(contentId, attachment.getString("content_id"), "content_id");
        assertEquals(size, attachment.getInt64("size"), "size");
    }

    private static List<Struct> attachments(Struct value) {
        return value.getArray(FIELD_ATTACHMENTS);
    }

    /** "name <address>", or the address alone when there is no name. */
    private static List<String> addresses(Struct value, String field) {
        List<String> result = new ArrayList<>();
        for (Struct address : value.<Struct>getArray(field)) {
            String name = address.getString("name");
            result.add(name == null ? address.getString("address") : name + " <" + address.getString("address") + ">");
        }
        return result;
    }

    private static String header(Struct value, String name) {
        for (Struct header : value.<Struct>getArray(FIELD_HEADERS)) {
            if (header.getString("name").equalsIgnoreCase(name)) {
                return header.getString("value");
            }
        }
        return null;
    }

    private static List<String> fixtureNames() throws IOException {
        try (InputStream in = MessageMapperTest.class.getResourceAsStream("/eml/")) {
            List<String> names = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.endsWith(".eml")) {
                    names.add(line.trim());
                }
            }
            assertFalse(names.isEmpty());
            return names;
        }
    }

    static byte[] fixture(String name) {
        try (InputStream in = MessageMapperTest.class.getResourceAsStream("/eml/" + name)) {
            assertNotNull(in, name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
