// The clients page: a filter, clients with their contracts and payments nested, "Load more"
// with the connection's cursor, and a payment form on each active contract.
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from './gql';
import type { ClientsPageQuery } from './gql/graphql';
import { fieldErrors } from './errors';

const ClientsPage = graphql(`
  query ClientsPage($first: Int!, $after: String, $filter: ClientFilter) {
    clients(first: $first, after: $after, filter: $filter, orderBy: [{ field: COMPANY_NAME }]) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        companyName
        status
        outstandingAmount
        contracts(first: 5) {
          nodes {
            id
            contractNumber
            title
            amount
            currency
            status
            paidAmount
            outstandingAmount
            payments(first: 5, orderBy: [{ field: PAYMENT_DATE, direction: DESC }]) {
              nodes { id amount status paymentDate }
            }
          }
        }
      }
    }
  }
`);

const RecordPayment = graphql(`
  mutation RecordPayment($input: RecordPaymentInput!) {
    recordPayment(input: $input) {
      id
      amount
      status
      contract { id paidAmount outstandingAmount }
    }
  }
`);

const PAGE = 10;

type ClientNode = ClientsPageQuery['clients']['nodes'][number];

export function Clients() {
  const [search, setSearch] = useState('');
  const [pages, setPages] = useState<Array<string | null>>([null]);
  const filter = search ? { companyName: { containsInsensitive: search } } : null;
  return (
    <main>
      <label>
        Company name contains{' '}
        <input
          name="search"
          value={search}
          onChange={(event) => {
            setSearch(event.target.value);
            setPages([null]);
          }}
        />
      </label>
      {pages.map((after, index) => (
        <Page
          key={`${search}:${after ?? ''}`}
          after={after}
          filter={filter}
          last={index === pages.length - 1}
          onMore={(cursor) => setPages((current) => [...current, cursor])}
        />
      ))}
    </main>
  );
}

function Page({
  after,
  filter,
  last,
  onMore,
}: {
  after: string | null;
  filter: { companyName: { containsInsensitive: string } } | null;
  last: boolean;
  onMore: (cursor: string) => void;
}) {
  const [{ data, fetching, error }] = useQuery({ query: ClientsPage, variables: { first: PAGE, after, filter } });
  if (fetching && !data) return <p>Loading…</p>;
  if (error) return <p role="alert">{error.message}</p>;
  if (!data) return null;
  const { nodes, pageInfo, totalCount } = data.clients;
  return (
    <section>
      {after === null && <p data-testid="total">{totalCount} clients</p>}
      <ul>
        {nodes.map((client) => (
          <ClientRow key={client.id} client={client} />
        ))}
      </ul>
      {last && pageInfo.hasNextPage && pageInfo.endCursor && (
        <button onClick={() => pageInfo.endCursor && onMore(pageInfo.endCursor)}>Load more</button>
      )}
    </section>
  );
}

function ClientRow({ client }: { client: ClientNode }) {
  return (
    <li data-testid="client">
      <strong>{client.companyName}</strong> ({client.status}), owes {client.outstandingAmount}
      <ul>
        {client.contracts.nodes.map((contract) => (
          <li key={contract.id} data-testid="contract">
            {contract.contractNumber} {contract.title}: {contract.amount} {contract.currency} ({contract.status}), paid{' '}
            <span data-testid="paid">{contract.paidAmount}</span>, owed{' '}
            <span data-testid="outstanding">{contract.outstandingAmount}</span>
            <ul>
              {contract.payments.nodes.map((payment) => (
                <li key={payment.id}>
                  {payment.paymentDate}: {payment.amount} ({payment.status})
                </li>
              ))}
            </ul>
            {contract.status === 'active' && <PaymentForm contractId={contract.id} />}
          </li>
        ))}
      </ul>
    </li>
  );
}

function PaymentForm({ contractId }: { contractId: string }) {
  const [amount, setAmount] = useState('');
  // One key per payment the user means to record: a retry of the same submission (a network
  // failure) cannot record it twice.
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());
  const [result, record] = useMutation(RecordPayment);
  const [done, setDone] = useState<string | null>(null);
  const errors = fieldErrors(result.error);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const outcome = await record({ input: { contractId, amount, paymentMethod: 'transfer', idempotencyKey } });
    if (outcome.data) {
      setDone(`Recorded ${outcome.data.recordPayment.amount}`);
      setAmount('');
      setIdempotencyKey(crypto.randomUUID());
    }
  };
  return (
    <form onSubmit={(event) => void submit(event)} aria-label="Record a payment">
      <label>
        Amount <input name="amount" value={amount} onChange={(event) => setAmount(event.target.value)} />
      </label>
      {errors.amount && (
        <span role="alert" data-testid="amount-error">
          {errors.amount}
        </span>
      )}
      <button type="submit" disabled={result.fetching}>
        Record payment
      </button>
      {errors[''] && <span role="alert">{errors['']}</span>}
      {done && <span data-testid="recorded">{done}</span>}
    </form>
  );
}
