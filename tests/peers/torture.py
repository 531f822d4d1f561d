"""RFC 4475 "SIP Torture Test Messages" as bytes, plus senders and floods aimed at a SIP server on 127.0.0.1.

The messages follow the RFC's text (section 3.1.1 valid, 3.1.2 invalid, 3.2 transaction and 3.3 application layer
tests), with the RFC's ``<repeat>`` and ``<hex>`` notation expanded. Their request-URIs point at example.com hosts;
:func:`retarget` rewrites them (and only them) to the server under test, keeping every defect.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Literal

from .ports import LOOPBACK

CRLF = b"\r\n"
#: largest UDP payload over IPv4
UDP_MAX = 65507
#: messages longer than this are also sent over TCP by :func:`send_all` (when ``tcp=True``)
TCP_THRESHOLD = 1300


def _msg(*lines: str | bytes, body: bytes | str = b"") -> bytes:
    """Join header lines with CRLF, add the blank line and the body."""
    encoded = [line.encode("utf-8") if isinstance(line, str) else line for line in lines]
    raw_body = body.encode("utf-8") if isinstance(body, str) else body
    return CRLF.join(encoded) + CRLF + CRLF + raw_body


def _sdp(*lines: str) -> bytes:
    """An SDP body, one CRLF-terminated line per argument."""
    return b"".join(line.encode() + CRLF for line in lines)


def _sdp_std(addr: str, *, origin: str | None = None, t: str = "0 0") -> bytes:
    """The RFC's usual 150-ish byte SDP body (audio 0/12, video 31 LPC) for a given address."""
    return _sdp(
        "v=0",
        f"o=mhandley 29739 7272939 IN IP4 {origin or addr}",
        "s=-",
        f"c=IN IP4 {addr}",
        f"t={t}",
        "m=audio 49217 RTP/AVP 0 12",
        "m=video 3227 RTP/AVP 31",
        "a=rtpmap:31 LPC",
    )


# --------------------------------------------------------------------------------------------------------------------
# 3.1.1 Valid messages
# --------------------------------------------------------------------------------------------------------------------

# 3.1.1.1 A short tortuous INVITE: line folding, LWS everywhere, escaped quotes, empty Subject, unknown headers.
WSINV = _msg(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
    "TO :",
    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
    'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>',
    "  ;",
    "  tag = 98asjd8",
    "MaX-fOrWaRdS: 0068",
    "Call-ID: wsinv.ndaksdj@192.0.2.1",
    "Content-Length   : 150",
    "cseq: 0009",
    "  INVITE",
    "Via  : SIP  /   2.0",
    " /UDP",
    "    192.0.2.2;branch=390skdjuw",
    "s :",
    "NewFangledHeader:   newfangled value",
    " continued newfangled value",
    "UnknownHeaderWithUnusualValue: ;;,,;;,;",
    "Content-Type: application/sdp",
    "Route:",
    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
    "  branch  =   z9hG4bK9ikj8  ,",
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
    " z9hG4bK30239",
    'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =',
    "      newvalue ;",
    "  secondparam ; q = 0.33",
    body=_sdp_std("192.0.2.4", origin="192.0.2.3"),
)

# 3.1.1.2 Wide range of valid characters: odd method, odd URI, quoted BEL/NUL/DEL, UTF-8 values.
INTMETH = _msg(
    "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    ":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0",
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
    b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>',
    "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com> ;fromParam''~+*_!.-%="
    '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439";tag=_token~1\'+`*%!-.',
    "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
    "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
    "Max-Forwards: 255",
    "extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb",
    "Content-Length: 0",
)

# 3.1.1.3 Valid use of the % escaping mechanism.
ESC01 = _msg(
    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
    "To: sip:%75se%72@example.com",
    "From: <sip:I%20have%20spaces@example.net>;tag=938",
    "Max-Forwards: 87",
    "i: esc01.239409asdfakjkn23onasd0-3234",
    "CSeq: 234234 INVITE",
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw",
    "C: application/sdp",
    "Contact:",
    "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
    "Content-Length: 150",
    body=_sdp_std("192.0.2.1"),
)

# 3.1.1.4 Escaped nulls in URIs.
ESCNULL = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:null-%00-null@example.com",
    "From: sip:null-%00-null@example.com;tag=839923423",
    "Max-Forwards: 70",
    "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
    "CSeq: 14398234 REGISTER",
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
    "Contact: <sip:%00@host5.example.com>",
    "Contact: <sip:%00%00@host5.example.com>",
    "L:0",
)

# 3.1.1.5 Use of % when it is not an escape.
ESC02 = _msg(
    "RE%47IST%45R sip:registrar.example.com SIP/2.0",
    'To: "%Z%45" <sip:resource@example.com>',
    'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23',
    "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
    "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234",
    "CSeq: 29344 RE%47IST%45R",
    "Max-Forwards: 70",
    "Contact: <sip:alias1@host1.example.com>",
    "C%6Fntact: <sip:alias2@host2.example.com>",
    "Contact: <sip:alias3@host3.example.com>",
    "l: 0",
)

# 3.1.1.6 Message with no LWS between display name and <.
LWSDISP = _msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: caller<sip:caller@example.com>;tag=323",
    "Max-Forwards: 70",
    "Call-ID: lwsdisp.1234abcd@funky.example.com",
    "CSeq: 60 OPTIONS",
    "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw",
    "l: 0",
)

# 3.1.1.7 Long values in header fields (the RFC's <repeat> blocks expanded).
LONGREQ = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    'To: "I have a user name of '
    + "extreme" * 10
    + ' proportion"<sip:user@example.com:6000;unknownparam1=very'
    + "long" * 20
    + "value;longparam"
    + "name" * 25
    + "=shortvalue;very"
    + "long" * 25
    + "ParameterNameWithNoValue>",
    "F: sip:"
    + "amazinglylongcallername" * 5
    + "@example.net;tag=12"
    + "982" * 50
    + "424;unknownheaderparam"
    + "name" * 20
    + "=unknowheaderparam"
    + "value" * 15
    + ";unknownValueless"
    + "paramname" * 10,
    "Call-ID: longreq.one" + "really" * 20 + "longcallid",
    "CSeq: 3882340 INVITE",
    "Unknown-"
    + "Long" * 20
    + "-Name: unknown-"
    + "long" * 20
    + "-value; unknown-"
    + "long" * 20
    + "-parameter-name = unknown-"
    + "long" * 20
    + "-parameter-value",
    "Via: SIP/2.0/TCP sip33.example.com",
    "v: SIP/2.0/TCP sip32.example.com",
    "V: SIP/2.0/TCP sip31.example.com",
    "Via: SIP/2.0/TCP sip30.example.com",
    "ViA: SIP/2.0/TCP sip29.example.com",
    "VIa: SIP/2.0/TCP sip28.example.com",
    "VIA: SIP/2.0/TCP sip27.example.com",
    "via: SIP/2.0/TCP sip26.example.com",
    "viA: SIP/2.0/TCP sip25.example.com",
    "vIa: SIP/2.0/TCP sip24.example.com",
    "vIA: SIP/2.0/TCP sip23.example.com",
    "V :  SIP/2.0/TCP sip22.example.com",
    "v :  SIP/2.0/TCP sip21.example.com",
    "V  : SIP/2.0/TCP sip20.example.com",
    "v  : SIP/2.0/TCP sip19.example.com",
    "Via : SIP/2.0/TCP sip18.example.com",
    "Via  : SIP/2.0/TCP sip17.example.com",
    *(f"Via: SIP/2.0/TCP sip{n}.example.com" for n in range(16, 0, -1)),
    "Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very" + "long" * 50 + "branchvalue",
    "Max-Forwards: 70",
    "Contact: <sip:" + "amazinglylongcallername" * 5 + "@host5.example.net>",
    "Content-Type: application/sdp",
    "l: 150",
    body=_sdp_std("192.0.2.1"),
)

# 3.1.1.8 Two requests in one UDP datagram: only the first (REGISTER) is to be processed.
DBLREQ = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:j.user@example.com;tag=43251j3j324",
    "Max-Forwards: 8",
    "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412",
    "Contact: sip:j.user@host.example.com",
    "CSeq: 8 REGISTER",
    "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492",
    "Content-Length: 0",
    body=_msg(
        "INVITE sip:joe@example.com SIP/2.0",
        "t: sip:joe@example.com",
        "From: sip:caller@example.net;tag=141334",
        "Max-Forwards: 8",
        "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15",
        "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234",
        "Content-Type: application/sdp",
        "Content-Length: 150",
        body=_sdp(
            "v=0",
            "o=mhandley 29739 7272939 IN IP4 192.0.2.15",
            "s=-",
            "c=IN IP4 192.0.2.15",
            "t=0 0",
            "m=audio 49217 RTP/AVP 0 12",
            "m =video 3227 RTP/AVP 31",
            "a=rtpmap:31 LPC",
        ),
    ),
)

# 3.1.1.9 Semicolon-separated parameters in the URI user part; folded Accept.
SEMIURI = _msg(
    "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0",
    "To: sip:j_user@example.com",
    "From: sip:caller@example.org;tag=33242",
    "Max-Forwards: 3",
    "Call-ID: semiuri.0ha0isndaksdj",
    "CSeq: 8 OPTIONS",
    "Accept: application/sdp, application/pkcs7-mime,",
    "        multipart/mixed, multipart/signed,",
    "        message/sip, message/sipfrag",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw",
    "l: 0",
)

# 3.1.1.10 Varied and unknown transport types.
TRANSPORTS = _msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: <sip:caller@example.com>;tag=323",
    "Max-Forwards: 70",
    "Call-ID:  transports.kijh4akdnaqjkwendsasfdj",
    "Accept: application/sdp",
    "CSeq: 60 OPTIONS",
    "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw",
    "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
    "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
    "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
    "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
    "l: 0",
)

_MPART_SIGNATURE = bytes.fromhex(
    "308201520609 2a86 0d0a"
    "4886f70d010702a08201433082013f02"
    "0101310930070605 2b0e03021a300b06"
    "092a864886f70d010701318201203082"
    "011c020101307c3070310b3009060355"
    "040613025553311330110603550408 13"
    "0a43616c69666f726e69613111300f06"
    "035504071308 53616e204a6f7365310e"
    "300c060355040a1305736970697431 29"
    "3027060355040b132053697069742054"
    "657374204365727469666963617465 20"
    "417574686f72697479020801950071 02"
    "330113300706052b0e03021a300d0609"
    "2a864886f70d0101010500048180 8ef4"
    "66f948f0522dd2e5978e9d95aae9f2fe"
    "15a06659716292e8da2aa8d8350a68ce"
    "ffae3cbd2bff1675ddd5648e593dd647"
    "28f26220f7e941749e330d9a15edabdb"
    "93d10c42102e7b7289d29cc0c9ae2efb"
    "c7c0cff9172f3b027e4fc027e1546de4"
    "b6aa3abb3e66cccb5dd6c64b8383149c"
    "b8e6ff182d944fe57b65bc99d005"
)

# 3.1.1.11 Multipart MIME message with a binary (S/MIME signature) part containing NUL bytes.
MPART01 = _msg(
    "MESSAGE sip:kumiko@example.org SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport",
    "Max-Forwards: 70",
    "Route: <sip:127.0.0.1:5080>",
    "Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9"
    "WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=",
    "Contact: <sip:fluffy@127.0.0.1:5070>",
    "To: <sip:kumiko@example.org>",
    "From: <sip:fluffy@example.com>;tag=2fb0dcc9",
    "Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..",
    "CSeq: 1 MESSAGE",
    "Content-Transfer-Encoding: binary",
    "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655",
    "Date: Sat, 15 Oct 2005 04:44:56 GMT",
    "User-Agent: SIPimp.org/0.2.5 (curses)",
    "Content-Length: 553",
    body=b"--7a9cbec02ceef655\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n"
    b"Hello\r\n"
    b"--7a9cbec02ceef655\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n" + _MPART_SIGNATURE + b"--7a9cbec02ceef655--\r\n",
)

# 3.1.1.12 Unusual reason phrase (UTF-8, arithmetic).
UNREASON = _msg(
    "SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e"
    " \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435",
    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf",
    "CSeq: 35 INVITE",
    "From: sip:user@example.com;tag=11141343",
    "To: sip:user@example.edu;tag=2229",
    "Content-Length: 154",
    "Content-Type: application/sdp",
    "Contact: <sip:user@host198.example.com>",
    body=_sdp_std("192.0.2.198"),
)

# 3.1.1.13 Empty reason phrase (the status line ends "100 ").
NOREASON = _msg(
    "SIP/2.0 100 ",
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
    "Call-ID: noreason.asndj203insdf99223ndf",
    "CSeq: 35 INVITE",
    "From: <sip:user@example.com>;tag=39ansfi3",
    "To: <sip:user@example.edu>;tag=902jndnke3",
    "Content-Length: 0",
    "Contact: <sip:user@host105.example.com>",
)

# --------------------------------------------------------------------------------------------------------------------
# 3.1.2 Invalid messages
# --------------------------------------------------------------------------------------------------------------------

# 3.1.2.1 Extraneous header field separators.
BADINV01 = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=134161461246",
    "Max-Forwards: 7",
    "Call-ID: badinv01.0ha0isndaksdjasdf3234nas",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.15;;,;,,",
    'Contact: "Joe" <sip:joe@example.org>;;;;',
    "Content-Length: 152",
    "Content-Type: application/sdp",
    body=_sdp_std("192.0.2.15"),
)

# 3.1.2.2 Content-Length larger than the message.
CLERR = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    "Max-Forwards: 80",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=93942939o2",
    "Contact: <sip:caller@hungry.example.net>",
    "Call-ID: clerr.0ha0isndaksdjweiafasdk3",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523",
    "Content-Type: application/sdp",
    "Content-Length: 9999",
    body=_sdp_std("192.0.2.155"),
)

# 3.1.2.3 Negative Content-Length.
NCL = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    "Max-Forwards: 254",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=32394234",
    "Call-ID: ncl.0ha0isndaksdj2193423r542w35",
    "CSeq: 0 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw",
    "Contact: <sip:caller@example53.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: -999",
    body=_sdp_std("192.0.2.53"),
)

# 3.1.2.4 Request scalar fields with overlarge values.
SCALAR02 = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3",
    "To: <sip:user@example.com>",
    "From: <sip:user@example.com>;tag=239232jh3",
    "CSeq: 36893488147419103232 REGISTER",
    "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32",
    "Max-Forwards: 300",
    "Expires: 1" + "0" * 100,
    "Contact: <sip:user@host129.example.com>",
    "  ;expires=280297596632815",
    "Content-Length: 0",
)

# 3.1.2.5 Response scalar fields with overlarge values.
SCALARLG = _msg(
    "SIP/2.0 503 Service Unavailable",
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129",
    "To: <sip:user@example.com>",
    "From: <sip:other@example.net>;tag=2easdjfejw",
    "CSeq: 9292394834772304023312 OPTIONS",
    "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r",
    "Retry-After: 949302838503028349304023988",
    'Warning: 1812 overture "In Progress"',
    "Content-Length: 0",
)

# 3.1.2.6 Unterminated quoted string in display name.
QUOTBAL = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    'To: "Mr. J. User <sip:j.user@example.com>',
    "From: sip:caller@example.net;tag=93334",
    "Max-Forwards: 10",
    "Call-ID: quotbal.aksdj",
    "Contact: <sip:caller@host59.example.net>",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234",
    "Content-Type: application/sdp",
    "Content-Length: 152",
    body=_sdp_std("192.0.2.15"),
)

# 3.1.2.7 <> enclosing the Request-URI.
LTGTRURI = _msg(
    "INVITE <sip:user@example.com> SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=39291",
    "Max-Forwards: 23",
    "Call-ID: ltgtruri.1@192.0.2.5",
    "CSeq: 1 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.5",
    "Contact: <sip:caller@host5.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: 159",
    body=_sdp_std("192.0.2.5", t="3149328700 0"),
)

# 3.1.2.8 Malformed SIP Request-URI (embedded LWS).
LWSRURI = _msg(
    "INVITE sip:user@example.com; lr SIP/2.0",
    "To: sip:user@example.com;tag=3xfe-9921883-z9f",
    "From: sip:caller@example.net;tag=231413434",
    "Max-Forwards: 5",
    "Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423",
    "CSeq: 2130706432 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395",
    "Contact: <sip:caller@host1.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: 159",
    body=_sdp_std("192.0.2.1", t="3149328700 0"),
)

# 3.1.2.9 Multiple SP separating Request-Line elements.
LWSSTART = _msg(
    "INVITE  sip:user@example.com  SIP/2.0",
    "Max-Forwards: 8",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=8814",
    "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com",
    "CSeq: 1893884 INVITE",
    "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923",
    "Contact: <sip:caller@host1.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: 150",
    body=_sdp_std("192.0.2.1"),
)

# 3.1.2.10 SP characters at the end of the Request-Line.
TRWS = _msg(
    "OPTIONS sip:remote-target@example.com SIP/2.0  ",
    "Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093",
    "To: <sip:remote-target@example.com>",
    "From: <sip:local-resource@example.com>;tag=329429089",
    "Call-ID: trws.oicu34958239neffasdhr2345r",
    "Accept: application/sdp",
    "CSeq: 238923 OPTIONS",
    "Max-Forwards: 70",
    "Content-Length: 0",
)

# 3.1.2.11 Escaped headers in the SIP Request-URI.
ESCRURI = _msg(
    "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=341518",
    "Max-Forwards: 7",
    "Contact: <sip:caller@host39923.example.net>",
    "Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5",
    "CSeq: 149209342 INVITE",
    "Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw",
    "Content-Type: application/sdp",
    "Content-Length: 150",
    body=_sdp_std("192.0.2.1"),
)

# 3.1.2.12 Invalid time zone in Date header field.
BADDATE = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=2234923",
    "Max-Forwards: 70",
    "Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234",
    "CSeq: 1392934 INVITE",
    "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw",
    "Date: Fri, 01 Jan 2010 16:00:00 EST",
    "Contact: <sip:caller@host5.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: 150",
    body=_sdp_std("192.0.2.5"),
)

# 3.1.2.13 Failure to enclose name-addr URI in <> (Contact with ? headers).
REGBADCT = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:user@example.com;tag=998332",
    "Max-Forwards: 70",
    "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1",
    "CSeq: 1 REGISTER",
    "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw",
    "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E",
    "l: 0",
)

# 3.1.2.14 Spaces within addr-spec.
BADASPEC = _msg(
    "OPTIONS sip:user@example.org SIP/2.0",
    "Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234",
    "Max-Forwards: 70",
    'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423',
    'To: "Watson, Thomas" < sip:t.watson@example.org >',
    "Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3",
    "Accept: application/sdp",
    "CSeq: 3923239 OPTIONS",
    "l: 0",
)

# 3.1.2.15 Non-token characters in display name.
BADDN = _msg(
    "OPTIONS sip:t.watson@example.org SIP/2.0",
    "Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw",
    "Max-Forwards:      70",
    "From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
    "To:      Watson, Thomas <sip:t.watson@example.org>",
    "Call-ID: baddn.31415@c.example.com",
    "Accept: application/sdp",
    "CSeq:    3923239 OPTIONS",
    "l: 0",
)

# 3.1.2.16 Unknown protocol version.
BADVERS = _msg(
    "OPTIONS sip:t.watson@example.org SIP/7.0",
    "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw",
    "Max-Forwards:     70",
    "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe",
    "To:      T. Watson <sip:t.watson@example.org>",
    "Call-ID: badvers.31417@c.example.com",
    "CSeq:    1 OPTIONS",
    "l: 0",
)

# 3.1.2.17 Start line and CSeq method mismatch.
MISMATCH01 = _msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=34525",
    "Max-Forwards: 6",
    "Call-ID: mismatch01.dj0234sxdfl3",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw",
    "l: 0",
)

# 3.1.2.18 Unknown method with CSeq method mismatch.
MISMATCH02 = _msg(
    "NEWMETHOD sip:user@example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=34525",
    "Max-Forwards: 6",
    "Call-ID: mismatch02.dj0234sxdfl3",
    "CSeq: 8 INVITE",
    "Contact: <sip:caller@host.example.net>",
    "Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw",
    "Content-Type: application/sdp",
    "l: 138",
    body=_sdp(
        "v=0",
        "o=mhandley 29739 7272939 IN IP4 192.0.2.1",
        "c=IN IP4 192.0.2.1",
        "m=audio 49217 RTP/AVP 0 12",
        "m=video 3227 RTP/AVP 31",
        "a=rtpmap:31 LPC",
    ),
)

# 3.1.2.19 Overlarge response code.
BIGCODE = _msg(
    "SIP/2.0 4294967301 better not break the receiver",
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
    "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i",
    "CSeq: 353494 INVITE",
    "From: <sip:user@example.com>;tag=39ansfi3",
    "To: <sip:user@example.edu>;tag=902jndnke3",
    "Content-Length: 0",
    "Contact: <sip:user@host105.example.com>",
)

# --------------------------------------------------------------------------------------------------------------------
# 3.2 Transaction layer semantics
# --------------------------------------------------------------------------------------------------------------------

# 3.2.1 Missing transaction identifier (branch is only the magic cookie).
BADBRANCH = _msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.org;tag=33242",
    "Max-Forwards: 3",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK",
    "Accept: application/sdp",
    "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n",
    "CSeq: 8 OPTIONS",
    "l: 0",
)

# --------------------------------------------------------------------------------------------------------------------
# 3.3 Application layer semantics
# --------------------------------------------------------------------------------------------------------------------

# 3.3.1 Missing required header fields (no To, From, Call-ID, Max-Forwards).
INSUF = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    "CSeq: 193942 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf",
    "Content-Type: application/sdp",
    "l: 152",
    body=_sdp_std("192.0.2.95"),
)

# 3.3.2 Request-URI with unknown scheme.
UNKSCM = _msg(
    "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=384",
    "Max-Forwards: 3",
    "Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34",
    "CSeq: 3923423 OPTIONS",
    "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234",
    "Content-Length: 0",
)

# 3.3.3 Request-URI with known but atypical scheme.
NOVELSC = _msg(
    "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=384",
    "Max-Forwards: 3",
    "Call-ID: novelsc.asdfasser0q239nwsdfasdkl34",
    "CSeq: 3923423 OPTIONS",
    "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234",
    "Content-Length: 0",
)

# 3.3.4 Unknown URI schemes in header fields.
UNKSM2 = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "To: isbn:2983792873",
    "From: <http://www.example.com>;tag=3234233",
    "Call-ID: unksm2.daksdj@hyphenated-host.example.com",
    "CSeq: 234902 REGISTER",
    "Max-Forwards: 70",
    "Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw",
    "Contact: <name:John_Smith>",
    "l: 0",
)

# 3.3.5 Proxy-Require and Require with unsupported extensions.
BEXT01 = _msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:j_user@example.com",
    "From: sip:caller@example.net;tag=242etr",
    "Max-Forwards: 6",
    "Call-ID: bext01.0ha0isndaksdj",
    "Require: nothingSupportsThis, nothingSupportsThisEither",
    "Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis",
    "CSeq: 8 OPTIONS",
    "Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw",
    "Content-Length: 0",
)

# 3.3.6 Unknown Content-Type (an INVITE whose body cannot be understood).
INVUT = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    "Contact: <sip:caller@host5.example.net>",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=8392034",
    "Max-Forwards: 70",
    "Call-ID: invut.0ha0isndaksdjadsfij34n23d",
    "CSeq: 235448 INVITE",
    "Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw",
    "Content-Type: application/unknownformat",
    "Content-Length: 40",
    body='<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n',
)

# 3.3.7 Unknown authorization scheme.
REGAUT01 = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:j.user@example.com;tag=87321hj23128",
    "Max-Forwards: 8",
    "Call-ID: regaut01.0ha0isndaksdj",
    "CSeq: 9338 REGISTER",
    "Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw",
    "Authorization: NoOneKnowsThisScheme opaque-data=here",
    "Content-Length:0",
)

# 3.3.8 Multiple values in single-value required header fields.
MULTI01 = _msg(
    "INVITE sip:user@company.com SIP/2.0",
    "Contact: <sip:caller@host25.example.net>",
    "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw",
    "Max-Forwards: 70",
    "CSeq: 5 INVITE",
    "Call-ID: multi01.98asdh@192.0.2.1",
    "CSeq: 59 INVITE",
    "Call-ID: multi01.98asdh@192.0.2.2",
    "From: sip:caller@example.com;tag=3413415",
    "To: sip:user@example.com",
    "To: sip:other@example.net",
    "From: sip:caller@example.net;tag=2923420123",
    "Content-Type: application/sdp",
    "l: 154",
    "Contact: <sip:caller@host36.example.net>",
    "Max-Forwards: 5",
    body=_sdp_std("192.0.2.25"),
)

# 3.3.9 Multiple Content-Length values.
MCL01 = _msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423",
    "To: sip:user@example.com",
    "From: sip:other@example.net;tag=3923942",
    "Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf",
    "CSeq: 15932 OPTIONS",
    "Content-Length: 13",
    "Max-Forwards: 60",
    "Content-Length: 5",
    "Content-Type: text/plain",
    body="There's no way to know how many octets are supposed to be here.\r\n",
)

# 3.3.10 200 OK response with broadcast Via header field value.
BCAST = _msg(
    "SIP/2.0 200 OK",
    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
    "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23",
    "Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf",
    "CSeq: 35 INVITE",
    "From: sip:user@example.com;tag=11141343",
    "To: sip:user@example.edu;tag=2229",
    "Content-Length: 154",
    "Content-Type: application/sdp",
    "Contact: <sip:user@host28.example.com>",
    body=_sdp_std("192.0.2.198"),
)

# 3.3.11 Max-Forwards of zero.
ZEROMF = _msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=3ghsd41",
    "Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas",
    "CSeq: 39234321 OPTIONS",
    "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i",
    "Max-Forwards: 0",
    "Content-Length: 0",
)

# 3.3.12 REGISTER with a Contact header parameter (URI not in <>).
CPARAM01 = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw",
    "Max-Forwards: 70",
    "From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe",
    "To: sip:watson@example.com",
    "Call-ID: cparam01.70710@saturn.example.com",
    "CSeq: 2 REGISTER",
    "Contact: sip:+19725552222@gw1.example.net;unknownparam",
    "l: 0",
)

# 3.3.13 REGISTER with a URL parameter.
CPARAM02 = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw",
    "Max-Forwards: 70",
    "From: sip:watson@example.com;tag=838293",
    "To: sip:watson@example.com",
    "Call-ID: cparam02.70710@saturn.example.com",
    "CSeq: 3 REGISTER",
    "Contact: <sip:+19725552222@gw1.example.net;unknownparam>",
    "l: 0",
)

# 3.3.14 REGISTER with a URL escaped header.
REGESCRT = _msg(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:user@example.com;tag=8",
    "Max-Forwards: 70",
    "Call-ID: regescrt.k345asrl3fdbv@192.0.2.1",
    "CSeq: 14398234 REGISTER",
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
    "M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
    "L:0",
)

# 3.3.15 Unacceptable Accept offering.
SDP01 = _msg(
    "INVITE sip:user@example.com SIP/2.0",
    "To: sip:j_user@example.com",
    "Contact: <sip:caller@host15.example.net>",
    "From: sip:caller@example.net;tag=234",
    "Max-Forwards: 5",
    "Call-ID: sdp01.ndaksdj9342dasdd",
    "Accept: text/nobodyKnowsThis",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw",
    "Content-Length: 150",
    "Content-Type: application/sdp",
    body=_sdp_std("192.0.2.5"),
)

# 3.4 Backward compatibility: an RFC 2543-style INVITE (no branch cookie, no Max-Forwards, no Content-Length).
INV2543 = _msg(
    "INVITE sip:UserB@example.com SIP/2.0",
    "Via: SIP/2.0/UDP iftgw.example.com",
    "From: <sip:+13035551111@ift.client.example.net;user=phone>",
    "Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>",
    "To: sip:+16505552222@ss1.example.net;user=phone",
    "Call-ID: inv2543.1717@ift.client.example.com",
    "CSeq: 56 INVITE",
    "Content-Type: application/sdp",
    body=_sdp(
        "v=0",
        "o=mhandley 29739 7272939 IN IP4 192.0.2.5",
        "s=-",
        "c=IN IP4 192.0.2.5",
        "t=0 0",
        "m=audio 49217 RTP/AVP 0",
    ),
)

#: RFC 4475 section 3.1.1 (well-formed: a parser must accept them)
VALID: dict[str, bytes] = {
    "wsinv": WSINV,
    "intmeth": INTMETH,
    "esc01": ESC01,
    "escnull": ESCNULL,
    "esc02": ESC02,
    "lwsdisp": LWSDISP,
    "longreq": LONGREQ,
    "dblreq": DBLREQ,
    "semiuri": SEMIURI,
    "transports": TRANSPORTS,
    "mpart01": MPART01,
    "unreason": UNREASON,
    "noreason": NOREASON,
}

#: RFC 4475 section 3.1.2 (syntactically invalid)
INVALID: dict[str, bytes] = {
    "badinv01": BADINV01,
    "clerr": CLERR,
    "ncl": NCL,
    "scalar02": SCALAR02,
    "scalarlg": SCALARLG,
    "quotbal": QUOTBAL,
    "ltgtruri": LTGTRURI,
    "lwsruri": LWSRURI,
    "lwsstart": LWSSTART,
    "trws": TRWS,
    "escruri": ESCRURI,
    "baddate": BADDATE,
    "regbadct": REGBADCT,
    "badaspec": BADASPEC,
    "baddn": BADDN,
    "badvers": BADVERS,
    "mismatch01": MISMATCH01,
    "mismatch02": MISMATCH02,
    "bigcode": BIGCODE,
}

#: RFC 4475 sections 3.2 and 3.3/3.4 (well-formed, semantically troublesome)
SEMANTIC: dict[str, bytes] = {
    "badbranch": BADBRANCH,
    "insuf": INSUF,
    "unkscm": UNKSCM,
    "novelsc": NOVELSC,
    "unksm2": UNKSM2,
    "bext01": BEXT01,
    "invut": INVUT,
    "regaut01": REGAUT01,
    "multi01": MULTI01,
    "mcl01": MCL01,
    "bcast": BCAST,
    "zeromf": ZEROMF,
    "cparam01": CPARAM01,
    "cparam02": CPARAM02,
    "regescrt": REGESCRT,
    "sdp01": SDP01,
    "inv2543": INV2543,
}

#: every RFC 4475 message by its RFC file name
TORTURE: dict[str, bytes] = {**VALID, **INVALID, **SEMANTIC}

_REQUEST_LINE = re.compile(
    rb"^(?P<method>[^ \r\n]+)(?P<sp1> +)(?P<uri>.*?)(?P<sp2> +)(?P<version>SIP/[^ \r\n]*)(?P<tail> *)$"
)
_SIP_HOST = re.compile(rb"^(?P<scheme><?sips?:)(?P<userinfo>.*@)?(?P<hostport>\[[^\]]*\](?::\d+)?|[^;?> ]*)")
_AUTHORITY_URI = re.compile(rb"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<hostport>[^/;?> ]*)")


def _retarget_uri(uri: bytes, hostport: bytes) -> bytes:
    """Replace the host[:port] of one request-URI (sip:, sips:, <sip:...>, or scheme://authority) with ``hostport``."""
    match = _SIP_HOST.match(uri)
    if match is not None:
        return match.group("scheme") + (match.group("userinfo") or b"") + hostport + uri[match.end() :]
    match = _AUTHORITY_URI.match(uri)
    if match is not None:
        return match.group("scheme") + hostport + uri[match.end() :]
    return uri  # opaque unknown scheme (unkscm): nothing to point anywhere


def retarget(message: bytes, host: str, port: int) -> bytes:
    """Point a message's request-URI(s) at ``host:port`` (responses are returned unchanged; defects are kept).

    Every request line is rewritten: the first line and any request that follows a blank line (dblreq's second
    request). Only the URI's host and port change; spacing, brackets, parameters and headers stay as they were.
    """
    hostport = f"{host}:{port}".encode()
    starts = [0]
    search = 0
    while (found := message.find(b"\r\n\r\n", search)) >= 0:
        starts.append(found + 4)
        search = found + 4
    out = bytearray()
    cursor = 0
    for start in starts:
        end = message.find(b"\r\n", start)
        if end < 0:
            continue
        line = message[start:end]
        match = _REQUEST_LINE.match(line)
        if match is None or line.startswith(b"SIP/"):
            continue
        new_line = (
            match.group("method")
            + match.group("sp1")
            + _retarget_uri(match.group("uri"), hostport)
            + match.group("sp2")
            + match.group("version")
            + match.group("tail")
        )
        out += message[cursor:start] + new_line
        cursor = end
    out += message[cursor:]
    return bytes(out)


def _as_items(messages: Mapping[str, bytes] | Iterable[bytes]) -> list[tuple[str, bytes]]:
    """Normalise a name->bytes mapping or a plain iterable of messages into (name, bytes) pairs."""
    if isinstance(messages, Mapping):
        return [(str(name), bytes(data)) for name, data in messages.items()]
    return [(f"message{i}", bytes(data)) for i, data in enumerate(messages)]


def _send_tcp(host: str, port: int, data: bytes, *, timeout_s: float = 1.0) -> bool:
    """Send bytes over a fresh TCP connection from 127.0.0.1; False if nothing listens there."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s, source_address=(LOOPBACK, 0)) as conn:
            conn.sendall(data)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_WR)
    except OSError:
        return False
    return True


def send_all(
    host: str,
    port: int,
    messages: Mapping[str, bytes] | Iterable[bytes] = TORTURE,
    gap_s: float = 0.01,
    *,
    tcp: bool = False,
    retarget_uris: bool = True,
) -> dict[str, list[str]]:
    """Send each message to ``host:port`` over UDP (and, with ``tcp``, those over 1300 bytes also over TCP).

    Request-URIs are pointed at the target first (``retarget_uris``). Replies are ignored. Returns, per message
    name, the transports it went out on (an oversize UDP datagram is truncated to 65507 bytes, never skipped).
    """
    sent: dict[str, list[str]] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        for name, raw in _as_items(messages):
            data = retarget(raw, host, port) if retarget_uris else raw
            transports: list[str] = []
            with contextlib.suppress(OSError):
                sock.sendto(data[:UDP_MAX], (host, port))
                transports.append("udp")
            if tcp and len(data) > TCP_THRESHOLD and _send_tcp(host, port, data):
                transports.append("tcp")
            sent[name] = transports
            if gap_s > 0:
                time.sleep(gap_s)
    return sent


def huge_header_invite(
    host: str,
    port: int,
    size: int = 60000,
    *,
    transport: Literal["udp", "tcp"] = "udp",
) -> int:
    """Send one INVITE carrying a ``size``-byte header (TCP whole, UDP truncated to 65507 bytes); return bytes sent.

    Over TCP a refused connection raises ``ConnectionRefusedError``.
    """
    call_id = f"huge-{random.getrandbits(48):012x}@{LOOPBACK}"
    filler = ("x" * 76 + "\r\n ") * (size // 79 + 1)
    message = _msg(
        f"INVITE sip:huge@{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {LOOPBACK}:9;branch=z9hG4bK{random.getrandbits(40):010x};rport",
        "Max-Forwards: 70",
        f"From: <sip:huge@{LOOPBACK}>;tag={random.getrandbits(32):08x}",
        f"To: <sip:huge@{host}:{port}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 INVITE",
        "Contact: <sip:huge@127.0.0.1:9>",
        "X-Huge: " + filler[:size],
        "Content-Length: 0",
    )
    if transport == "tcp":
        with socket.create_connection((host, port), timeout=2.0, source_address=(LOOPBACK, 0)) as conn:
            conn.sendall(message)
        return len(message)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        return sock.sendto(message[:UDP_MAX], (host, port))


def _flood_message(rng: random.Random, host: str, port: int, local_port: int, n: int) -> bytes:
    """One flood datagram: random garbage, a truncated request, or a complete-looking OPTIONS/INVITE."""
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 1400))
    method = rng.choice(["OPTIONS", "INVITE", "REGISTER", "BYE", "ACK", "CANCEL", "INFO"])
    tag = f"{rng.getrandbits(32):08x}"
    message = _msg(
        f"{method} sip:flood{n % 50}@{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {LOOPBACK}:{local_port};branch=z9hG4bK{rng.getrandbits(48):012x};rport",
        "Max-Forwards: 70",
        f"From: <sip:flooder@{LOOPBACK}>;tag={tag}",
        f"To: <sip:flood{n % 50}@{host}:{port}>",
        f"Call-ID: flood-{n}-{tag}@{LOOPBACK}",
        f"CSeq: {rng.randrange(1, 1 << 31)} {method}",
        f"Contact: <sip:flooder@{LOOPBACK}:{local_port}>",
        "Content-Length: 0",
    )
    if kind == 1:  # truncated anywhere
        return message[: rng.randrange(1, len(message))]
    if kind == 2:  # a required header dropped
        lines = message.split(CRLF)
        del lines[rng.randrange(1, 8)]
        return CRLF.join(lines)
    if kind == 3:  # lying Content-Length
        return message.replace(b"Content-Length: 0", f"Content-Length: {rng.randrange(1, 100000)}".encode())
    return message


def flood(host: str, port: int, count: int = 2000, *, seed: int = 4475) -> int:
    """Send ``count`` UDP datagrams (garbage and half-valid OPTIONS/INVITEs) as fast as possible; return how many."""
    rng = random.Random(seed)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        local_port = sock.getsockname()[1]
        for n in range(count):
            data = _flood_message(rng, host, port, local_port, n)
            try:
                sock.sendto(data, (host, port))
            except OSError:
                continue
            sent += 1
    return sent
