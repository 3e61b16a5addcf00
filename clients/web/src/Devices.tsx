/** The signed-in devices (this browser is one, named after it) with "Sign out" for each. */
import { useCallback, useEffect, useState } from 'react';
import { api, errorText, humanDate } from './api';

interface Device { id: string; name: string | null; createdAt: string; revokedAt: string | null; lastSeenAt: string | null; current: boolean }

export function Devices({ onSignedOutHere }: { onSignedOutHere: () => void }) {
  const [devices, setDevices] = useState<Device[]>([]);
  const [error, setError] = useState('');
  const load = useCallback(async () => {
    try {
      setDevices((await api.request<{ devices: Device[] }>('query { devices { id name createdAt revokedAt lastSeenAt current } }')).devices);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  const signOut = async (d: Device) => {
    if (d.current) return onSignedOutHere();
    try {
      await api.request('mutation($id: ID!) { revokeDevice(id: $id) }', { id: d.id });
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const live = devices.filter((d) => !d.revokedAt);
  return (
    <section aria-label="Devices">
      {error && <p className="error" role="alert">{error}</p>}
      <table className="files">
        <thead><tr><th>Device</th><th className="date">Signed in</th><th className="date">Last seen</th><th className="actions" aria-label="Actions" /></tr></thead>
        <tbody>
          {live.map((d) => (
            <tr key={d.id} data-device={d.name ?? ''}>
              <td>{d.name ?? 'Unnamed device'}{d.current && <span className="badge">this browser</span>}</td>
              <td className="date">{humanDate(d.createdAt)}</td>
              <td className="date">{d.lastSeenAt ? humanDate(d.lastSeenAt) : '—'}</td>
              <td className="actions"><button onClick={() => signOut(d)}>{d.current ? 'Sign out this device' : 'Sign out'}</button></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
