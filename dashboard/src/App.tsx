import { useEffect, useState } from 'react';
import { loadMe, signOut } from './lib/api.ts';
import { Link, usePath } from './lib/router.tsx';
import type { Me } from './lib/types.ts';
import { AgentsPage } from './pages/Agents.tsx';
import { ApprovalsPage } from './pages/Approvals.tsx';
import { DecisionsPage } from './pages/Decisions.tsx';
import { LedgerPage } from './pages/Ledger.tsx';
import { LineagePage } from './pages/Lineage.tsx';
import { RecordPage } from './pages/Record.tsx';
import { SignInPage } from './pages/SignIn.tsx';
import { ToolsPage } from './pages/Tools.tsx';

const PAGES = [
  { path: '/ui/', label: 'Live decisions', operator: false },
  { path: '/ui/approvals', label: 'Approvals', operator: false },
  { path: '/ui/lineage', label: 'Lineage', operator: false },
  { path: '/ui/agents', label: 'Agents', operator: true },
  { path: '/ui/tools', label: 'Tools', operator: true },
  { path: '/ui/ledger', label: 'Ledger', operator: false },
];

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const pathname = path.split('?')[0]!;
  useEffect(() => {
    if (pathname === '/ui/sign-in') return;
    loadMe().then(setMe, () => setMe(null));
  }, [pathname]);
  useEffect(() => {
    const page = PAGES.find((p) => p.path === pathname);
    document.title = page ? `${page.label} · Warrant` : 'Warrant dashboard';
  }, [pathname]);

  if (pathname === '/ui/sign-in') return <SignInPage />;
  if (me === undefined) return <p className="loading">Loading…</p>;
  if (me === null) {
    location.assign(`/ui/sign-in?next=${encodeURIComponent(path)}`);
    return null;
  }
  const who = me.role === 'operator' ? 'operator' : (me.person?.email ?? me.person?.sub ?? 'person');
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span className="brand">Warrant</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.filter((p) => !p.operator || me.role === 'operator').map((p) => (
              <li key={p.path}>
                <Link
                  to={p.path}
                  aria-current={
                    pathname === p.path || (p.path !== '/ui/' && pathname.startsWith(p.path))
                      ? 'page'
                      : undefined
                  }
                >
                  {p.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who" data-testid="who">
          Signed in as {who} ({me.role})
        </span>
        <button
          type="button"
          onClick={async () => {
            await signOut();
            location.assign('/ui/sign-in');
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page pathname={pathname} me={me} />
      </main>
    </>
  );
}

function Page({ pathname, me }: { pathname: string; me: Me }) {
  if (pathname === '/ui/' || pathname === '/ui') return <DecisionsPage me={me} />;
  if (pathname === '/ui/approvals') return <ApprovalsPage me={me} />;
  if (pathname === '/ui/lineage') return <LineagePage me={me} txn={undefined} />;
  if (pathname.startsWith('/ui/lineage/'))
    return <LineagePage me={me} txn={decodeURIComponent(pathname.slice('/ui/lineage/'.length))} />;
  if (pathname.startsWith('/ui/records/'))
    return <RecordPage index={Number(pathname.slice('/ui/records/'.length))} />;
  if (pathname === '/ui/agents') return <AgentsPage />;
  if (pathname === '/ui/tools') return <ToolsPage />;
  if (pathname === '/ui/ledger') return <LedgerPage me={me} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No such page. <Link to="/ui/">Live decisions</Link>
      </p>
    </section>
  );
}
