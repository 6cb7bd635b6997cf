/**
 * Test helper: a real DNS server (dns2) on 127.0.0.1, UDP and TCP on the same random port, serving
 * records from a mutable table. Not exported.
 */
import dns2 from 'dns2';
import { listenOnOnePort } from './test-servers.js';

export interface SrvRecord {
  readonly type: 'SRV';
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
  readonly ttl: number;
}
export interface AddressRecord {
  readonly type: 'A' | 'AAAA';
  readonly address: string;
  readonly ttl: number;
}
export type TestRecord = SrvRecord | AddressRecord;

export interface TestDnsServer {
  readonly address: string;
  /** name -> records; edit freely between queries. */
  readonly records: Map<string, TestRecord[]>;
  /** Every question received, as `TYPE name`, with the transport. */
  readonly queries: { question: string; transport: 'udp' | 'tcp' }[];
  /** When set, every answer has this RCODE (e.g. 2 = SERVFAIL). */
  rcode: number;
  /** Put A/AAAA of SRV targets in the additional section. */
  additionals: boolean;
  close(): Promise<void>;
}

const { Packet } = dns2;

function toAnswer(name: string, record: TestRecord): Record<string, unknown> {
  if (record.type === 'SRV')
    return {
      name,
      type: Packet.TYPE.SRV,
      class: Packet.CLASS.IN,
      ttl: record.ttl,
      priority: record.priority,
      weight: record.weight,
      port: record.port,
      target: record.target,
    };
  return {
    name,
    type: Packet.TYPE[record.type],
    class: Packet.CLASS.IN,
    ttl: record.ttl,
    address: record.address,
  };
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const records = new Map<string, TestRecord[]>();
  const queries: { question: string; transport: 'udp' | 'tcp' }[] = [];
  const state = { rcode: 0, additionals: false };
  const typeName = (code: number): string =>
    Object.entries(Packet.TYPE).find(([, v]) => v === code)?.[0] ?? String(code);
  const { server, port } = await listenOnOnePort(() =>
    dns2.createServer({
      udp: true,
      tcp: true,
      handle(request, send, client) {
        const response = Packet.createResponseFromRequest(request);
        const [question] = request.questions;
        if (question === undefined) return send(response);
        const type = typeName(question.type);
        queries.push({
          question: `${type} ${question.name}`,
          transport: typeof (client as { write?: unknown }).write === 'function' ? 'tcp' : 'udp',
        });
        if (state.rcode !== 0) {
          response.header.rcode = state.rcode;
          return send(response);
        }
        const list = records.get(question.name.toLowerCase()) ?? [];
        for (const record of list)
          if (record.type === type) response.answers.push(toAnswer(question.name, record) as never);
        if (state.additionals && type === 'SRV') {
          for (const record of list) {
            if (record.type !== 'SRV') continue;
            for (const extra of records.get(record.target) ?? [])
              if (extra.type !== 'SRV') response.additionals.push(toAnswer(record.target, extra) as never);
          }
        }
        return send(response);
      },
    }),
  );
  return {
    address: `127.0.0.1:${port}`,
    records,
    queries,
    get rcode() {
      return state.rcode;
    },
    set rcode(value: number) {
      state.rcode = value;
    },
    get additionals() {
      return state.additionals;
    },
    set additionals(value: boolean) {
      state.additionals = value;
    },
    async close() {
      await server.close();
    },
  };
}
