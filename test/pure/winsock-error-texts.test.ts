// The table of Winsock error texts (src/sys/windows/error-texts.ts), the fallback message
// of a WinsockError where the system has none (Wine). Checked against Microsoft's list as
// transcribed below, and against the error numbers the code already uses (ERRORS in
// constants.ts). No Winsock call: runs on Linux node as well as under Wine. That a real
// failure under Wine reads the text is test/windows/socket/error-texts.test.ts.

import { expect } from 'chai';
import { ERRORS } from '../../src/sys/windows/constants.ts';
import { WSA_ERROR_TEXTS } from '../../src/sys/windows/error-texts.ts';
import { errorName, systemMessage, WinsockError } from '../../src/sys/windows/error.ts';

/**
 * Microsoft's "Windows Sockets Error Codes" page
 * (learn.microsoft.com/windows/win32/winsock/windows-sockets-error-codes-2), its
 * "Return code/value" column top to bottom: macro name and number.
 */
const MICROSOFT_LIST = `
WSA_INVALID_HANDLE 6
WSA_NOT_ENOUGH_MEMORY 8
WSA_INVALID_PARAMETER 87
WSA_OPERATION_ABORTED 995
WSA_IO_INCOMPLETE 996
WSA_IO_PENDING 997
WSAEINTR 10004
WSAEBADF 10009
WSAEACCES 10013
WSAEFAULT 10014
WSAEINVAL 10022
WSAEMFILE 10024
WSAEWOULDBLOCK 10035
WSAEINPROGRESS 10036
WSAEALREADY 10037
WSAENOTSOCK 10038
WSAEDESTADDRREQ 10039
WSAEMSGSIZE 10040
WSAEPROTOTYPE 10041
WSAENOPROTOOPT 10042
WSAEPROTONOSUPPORT 10043
WSAESOCKTNOSUPPORT 10044
WSAEOPNOTSUPP 10045
WSAEPFNOSUPPORT 10046
WSAEAFNOSUPPORT 10047
WSAEADDRINUSE 10048
WSAEADDRNOTAVAIL 10049
WSAENETDOWN 10050
WSAENETUNREACH 10051
WSAENETRESET 10052
WSAECONNABORTED 10053
WSAECONNRESET 10054
WSAENOBUFS 10055
WSAEISCONN 10056
WSAENOTCONN 10057
WSAESHUTDOWN 10058
WSAETOOMANYREFS 10059
WSAETIMEDOUT 10060
WSAECONNREFUSED 10061
WSAELOOP 10062
WSAENAMETOOLONG 10063
WSAEHOSTDOWN 10064
WSAEHOSTUNREACH 10065
WSAENOTEMPTY 10066
WSAEPROCLIM 10067
WSAEUSERS 10068
WSAEDQUOT 10069
WSAESTALE 10070
WSAEREMOTE 10071
WSASYSNOTREADY 10091
WSAVERNOTSUPPORTED 10092
WSANOTINITIALISED 10093
WSAEDISCON 10101
WSAENOMORE 10102
WSAECANCELLED 10103
WSAEINVALIDPROCTABLE 10104
WSAEINVALIDPROVIDER 10105
WSAEPROVIDERFAILEDINIT 10106
WSASYSCALLFAILURE 10107
WSASERVICE_NOT_FOUND 10108
WSATYPE_NOT_FOUND 10109
WSA_E_NO_MORE 10110
WSA_E_CANCELLED 10111
WSAEREFUSED 10112
WSAHOST_NOT_FOUND 11001
WSATRY_AGAIN 11002
WSANO_RECOVERY 11003
WSANO_DATA 11004
WSA_QOS_RECEIVERS 11005
WSA_QOS_SENDERS 11006
WSA_QOS_NO_SENDERS 11007
WSA_QOS_NO_RECEIVERS 11008
WSA_QOS_REQUEST_CONFIRMED 11009
WSA_QOS_ADMISSION_FAILURE 11010
WSA_QOS_POLICY_FAILURE 11011
WSA_QOS_BAD_STYLE 11012
WSA_QOS_BAD_OBJECT 11013
WSA_QOS_TRAFFIC_CTRL_ERROR 11014
WSA_QOS_GENERIC_ERROR 11015
WSA_QOS_ESERVICETYPE 11016
WSA_QOS_EFLOWSPEC 11017
WSA_QOS_EPROVSPECBUF 11018
WSA_QOS_EFILTERSTYLE 11019
WSA_QOS_EFILTERTYPE 11020
WSA_QOS_EFILTERCOUNT 11021
WSA_QOS_EOBJLENGTH 11022
WSA_QOS_EFLOWCOUNT 11023
WSA_QOS_EUNKOWNPSOBJ 11024
WSA_QOS_EPOLICYOBJ 11025
WSA_QOS_EFLOWDESC 11026
WSA_QOS_EPSFLOWSPEC 11027
WSA_QOS_EPSFILTERSPEC 11028
WSA_QOS_ESDMODEOBJ 11029
WSA_QOS_ESHAPERATEOBJ 11030
WSA_QOS_RESERVED_PETYPE 11031
`
  .trim()
  .split('\n')
  .map((line) => {
    const [name, number] = line.split(' ');
    return [name!, Number(number)] as const;
  });

/** winsock2.h defines these two WSA names as the Win32 errors ERRORS names them by. */
const WIN32_ALIASES: Readonly<Record<string, string>> = {
  WSA_INVALID_HANDLE: 'ERROR_INVALID_HANDLE',
  WSA_INVALID_PARAMETER: 'ERROR_INVALID_PARAMETER',
};

describe('Winsock error texts (pure)', function () {
  it("has Microsoft's list, name and number, in its order, once each", function () {
    expect(MICROSOFT_LIST).to.have.length(95);
    expect(WSA_ERROR_TEXTS.map(([name, errno]) => [name, errno])).to.deep.equal(MICROSOFT_LIST.map(([name, errno]) => [name, errno]));
    expect(new Set(WSA_ERROR_TEXTS.map(([, errno]) => errno)).size).to.equal(WSA_ERROR_TEXTS.length);
  });

  it('gives every code a one-line sentence (a short description, not the paragraph)', function () {
    for (const [name, , text] of WSA_ERROR_TEXTS) {
      expect(text, name).to.match(/^[A-Z][^\n]*\.$/);
      expect(text.length, name).to.be.below(60);
    }
  });

  it('agrees with the error numbers the code already uses (ERRORS)', function () {
    const known: Readonly<Record<string, number>> = ERRORS;
    for (const [name, errno] of WSA_ERROR_TEXTS) {
      const alias = WIN32_ALIASES[name];
      if (alias !== undefined) expect(known[alias], `${name} is ${alias}`).to.equal(errno);
      else if (name in known) expect(known[name], name).to.equal(errno);
    }
    // Every WSA code of ERRORS has a text.
    const listed = new Set(WSA_ERROR_TEXTS.map(([name]) => name));
    for (const name of Object.keys(ERRORS).filter((name) => name.startsWith('WSA'))) expect(listed.has(name), name).to.equal(true);
  });

  it('names the codes ERRORS lacks by the list, and keeps ERRORS\' names where both have one', function () {
    expect(errorName(10066)).to.equal('WSAENOTEMPTY');
    expect(errorName(11031)).to.equal('WSA_QOS_RESERVED_PETYPE');
    expect(errorName(10048)).to.equal('WSAEADDRINUSE');
    expect(errorName(6)).to.equal('ERROR_INVALID_HANDLE');
    expect(errorName(87)).to.equal('ERROR_INVALID_PARAMETER');
    expect(errorName(12345)).to.equal('WSA_UNKNOWN_12345');
  });

  it('is the message where the system has no text (on Linux: always; under Wine: for most codes)', function () {
    const message = new WinsockError('bind', 10048, { address: '127.0.0.1', port: 80 }).message;
    expect(message).to.match(/^bind WSAEADDRINUSE 127\.0\.0\.1:80: \S/);
    expect(message).to.not.match(/Winsock error/);
    if (process.platform !== 'win32') {
      // Windows answers with FormatMessageW first; anywhere else the table is the text.
      expect(message).to.equal('bind WSAEADDRINUSE 127.0.0.1:80: Address already in use.');
      expect(systemMessage(10066)).to.equal('Directory not empty.');
      expect(systemMessage(12345)).to.equal('Winsock error 12345');
    }
  });
});
